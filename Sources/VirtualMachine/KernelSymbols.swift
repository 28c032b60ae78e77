import Foundation

/// Symbols for gdb from a vmlinux or a System.map. gdb reads an ELF file; a System.map (or
/// the guest's /proc/kallsyms, same form) is turned into one: an assembly file with a label
/// at each text symbol's offset in a section that occupies no file space (`@nobits`), linked
/// at the kernel's text address, so gdb knows `break start_kernel` and `x/i` shows
/// `<ksys_write+5>`, while memory contents still come from the guest.
public enum KernelSymbols {
  /// The file to give gdb (`file PATH`): `path` itself when it is an ELF file, else an ELF
  /// file built in `workDirectory` from the System.map at `path`.
  public static func gdbFile(for path: String, workDirectory: String) throws -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw VMError(.usage, "--symbols \(path): cannot read it (\(String(cString: strerror(errno))))")
    }
    let magic = handle.readData(ofLength: 4)
    try? handle.close()
    if magic == Data([0x7f, 0x45, 0x4c, 0x46]) { return path }
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      throw VMError(.usage, "--symbols \(path): neither an ELF file (vmlinux) nor a text System.map")
    }
    var symbols: [(address: UInt64, name: String)] = []
    var seen: Set<String> = []
    for line in text.split(separator: "\n") {
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      guard fields.count == 3, let address = UInt64(fields[0], radix: 16), fields[1].count == 1 else { continue }
      let type = fields[1]
      guard type == "t" || type == "T" || type == "w" || type == "W" else { continue }
      let name = String(fields[2])
      guard address >= 0xffff_ffff_8000_0000, isPlainName(name), !seen.contains(name) else { continue }
      seen.insert(name)
      symbols.append((address, name))
    }
    guard let base = symbols.map(\.address).min() else {
      throw VMError(
        .usage,
        "--symbols \(path): no kernel text symbols in it (lines 'ffffffff81000000 T _stext'). Debian's /boot/System.map-* is a placeholder: use the guest's /proc/kallsyms (booted with nokaslr), or scripts/example-guest.sh's System.map")
    }
    symbols.sort { $0.address < $1.address }
    var assembly = ".section .kernel_text,\"ax\",@nobits\n"
    for symbol in symbols {
      assembly += ".org 0x\(String(symbol.address - base, radix: 16))\n.globl \(symbol.name)\n.type \(symbol.name),@function\n\(symbol.name):\n"
    }
    let source = workDirectory + "/kernel-symbols.s"
    let object = workDirectory + "/kernel-symbols.o"
    let elf = workDirectory + "/kernel-symbols.elf"
    guard FileManager.default.createFile(atPath: source, contents: Data(assembly.utf8)) else {
      throw VMError(.failed, "cannot write \(source)")
    }
    guard let assembler = QEMUInstallation.findInPath("as"), let linker = QEMUInstallation.findInPath("ld") else {
      throw VMError(.missingTool, "--symbols with a System.map needs binutils (as, ld); install them with: \(QEMUInstallation.setupCommand)")
    }
    try runTool([assembler, "--64", "-o", object, source], what: "assemble the symbol file")
    try runTool(
      [linker, "-o", elf, "--section-start=.kernel_text=0x\(String(base, radix: 16))", "-e", "0x\(String(base, radix: 16))", object],
      what: "link the symbol file")
    return elf
  }

  private static func isPlainName(_ name: String) -> Bool {
    guard let first = name.utf8.first, first == UInt8(ascii: "_") || (first | 0x20 >= UInt8(ascii: "a") && first | 0x20 <= UInt8(ascii: "z")) else { return false }
    return name.utf8.allSatisfy { byte in
      byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
    }
  }
}
