/// The vDSO's functions, rewritten so that they read nothing replay cannot give back.
///
/// The vDSO reads the clock from the kernel's vvar page and the TSC without a system call,
/// so its answers are in no event. rewind used to hide it from the auxiliary vector, and
/// glibc then made real calls; but the loader then also skipped the vDSO's link map, so
/// every process's startup allocations differed from a run outside rewind (one or two lines
/// of each process in `dump --strace` against strace), and a program that finds the vDSO
/// without the auxv (Go does not, but could) read the clock unrecorded. Instead, every
/// function the vDSO exports is overwritten at its entry: the clock and CPU functions with a
/// `syscall` of the same call (their arguments are already where the call takes them, and
/// the vDSO returns -errno as the call does), any other (vgetrandom, SGX, functions a later
/// kernel adds) with a return of -ENOSYS, which callers take as "use the system call".
enum VDSOPatch {
  /// The system call each function becomes.
  static let systemCalls: [String: UInt32] = [
    "clock_gettime": 228, "gettimeofday": 96, "time": 201, "getcpu": 309, "clock_getres": 229,
  ]

  /// `mov $number, %eax; syscall; ret`.
  static func systemCallStub(_ number: UInt32) -> [UInt8] {
    [0xB8] + (0..<4).map { UInt8(truncatingIfNeeded: number >> (8 * UInt32($0))) } + [0x0F, 0x05, 0xC3]
  }

  /// `mov $-38, %rax; ret`: -ENOSYS.
  static let unavailableStub: [UInt8] = [0x48, 0xC7, 0xC0, 0xDA, 0xFF, 0xFF, 0xFF, 0xC3]

  struct Failure: Error, Equatable {
    let reason: String
  }

  /// The image with every exported function patched, or why it cannot be (then the vDSO is
  /// hidden instead, as before). `image` is the whole [vdso] mapping.
  static func patched(_ image: [UInt8]) -> Result<[UInt8], Failure> {
    func word(_ at: Int, _ size: Int) -> UInt64? {
      guard at >= 0, at + size <= image.count else { return nil }
      var value: UInt64 = 0
      for i in 0..<size { value |= UInt64(image[at + i]) << (8 * UInt64(i)) }
      return value
    }
    guard image.count >= 64, image[0..<4] == [0x7F, 0x45, 0x4C, 0x46], image[4] == 2 else {
      return .failure(Failure(reason: "the vDSO is not a 64-bit ELF image"))
    }
    guard let programHeaders = word(0x20, 8), let programHeaderSize = word(0x36, 2), let programHeaderCount = word(0x38, 2),
      let sectionHeaders = word(0x28, 8), let sectionHeaderSize = word(0x3A, 2), let sectionCount = word(0x3C, 2)
    else { return .failure(Failure(reason: "the vDSO's ELF header is cut short")) }
    // Symbol values are addresses the image was linked at; the first PT_LOAD maps the file.
    var bias: UInt64?
    for i in 0..<Int(programHeaderCount) {
      let header = Int(programHeaders) + i * Int(programHeaderSize)
      if word(header, 4) == 1, let offset = word(header + 8, 8), let address = word(header + 16, 8) {
        bias = address &- offset
        break
      }
    }
    guard let bias else { return .failure(Failure(reason: "the vDSO has no loadable segment")) }
    var symbols: (offset: Int, size: Int, entrySize: Int, strings: Int, stringsSize: Int)?
    for i in 0..<Int(sectionCount) {
      let header = Int(sectionHeaders) + i * Int(sectionHeaderSize)
      guard word(header + 4, 4) == 11,  // SHT_DYNSYM
        let offset = word(header + 24, 8), let size = word(header + 32, 8), let link = word(header + 40, 4),
        let entrySize = word(header + 56, 8), entrySize >= 24
      else { continue }
      let stringsHeader = Int(sectionHeaders) + Int(link) * Int(sectionHeaderSize)
      guard let strings = word(stringsHeader + 24, 8), let stringsSize = word(stringsHeader + 32, 8) else { break }
      symbols = (Int(offset), Int(size), Int(entrySize), Int(strings), Int(stringsSize))
    }
    guard let symbols else { return .failure(Failure(reason: "the vDSO has no dynamic symbol table")) }
    var result = image
    var patchedAt: [Int: [UInt8]] = [:]
    for entry in stride(from: symbols.offset, to: symbols.offset + symbols.size, by: symbols.entrySize) {
      guard let nameOffset = word(entry, 4), let info = word(entry + 4, 1), let section = word(entry + 6, 2),
        let value = word(entry + 8, 8), let size = word(entry + 16, 8)
      else { return .failure(Failure(reason: "the vDSO's symbol table is cut short")) }
      guard info & 0xF == 2, section != 0 else { continue }  // STT_FUNC, defined
      var name = ""
      var at = symbols.strings + Int(nameOffset)
      while at < symbols.strings + symbols.stringsSize, at < image.count, image[at] != 0 {
        name.append(Character(UnicodeScalar(image[at])))
        at += 1
      }
      let call = name.hasPrefix("__vdso_") ? String(name.dropFirst("__vdso_".count)) : name
      let stub = systemCalls[call].map(systemCallStub) ?? unavailableStub
      let offset = Int(value &- bias)
      guard size >= UInt64(stub.count), offset >= 0, offset + stub.count <= image.count else {
        return .failure(Failure(reason: "the vDSO's \(name) has no room for a patch"))
      }
      if let earlier = patchedAt[offset] {
        // An alias (clock_gettime and __vdso_clock_gettime): the same patch.
        guard earlier == stub else { return .failure(Failure(reason: "the vDSO's \(name) is also another function")) }
        continue
      }
      result.replaceSubrange(offset..<(offset + stub.count), with: stub)
      patchedAt[offset] = stub
    }
    guard !patchedAt.isEmpty else { return .failure(Failure(reason: "the vDSO exports no function")) }
    return .success(result)
  }
}
