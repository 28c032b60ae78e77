import Glibc
import LinuxTrace
import TraceFormat

/// Auxiliary vector entry types (<elf.h>).
let auxvNull: UInt64 = 0
let auxvIgnore: UInt64 = 1
let auxvSysinfoEhdr: UInt64 = 33

extension MemoryGroupTracer {
  /// At PTRACE_EVENT_EXEC: patch the vDSO (or hide it), then save the initial stack, the address space and
  /// the files mapped into it. The event is written after execve's own syscall event.
  func execOccurred(_ task: RecordedTask) throws {
    let tracee = task.tracee
    let pid = task.tid
    tracee.addressSpaceReplaced()
    task.hasExecuted = true
    task.buffer = nil  // the new program's library makes its own
    task.rseq = nil  // exec drops the registration
    let registers = try registers(of: task)
    let maps: [MapsEntry]
    do { maps = try readMaps(of: pid) } catch { throw RecordError.ptraceFailed(operation: "reading /proc/\(pid)/maps", errno: error) }
    let vdso = patchVDSO(maps, tracee)
    let (argv, envp) = try readArguments(stackPointer: registers.rsp, hidingVDSO: vdso == nil, tracee)
    guard let stack = maps.first(where: { $0.start <= registers.rsp && registers.rsp < $0.end }) else {
      throw RecordError.trace(description: "no mapping holds the initial stack pointer \(hex(registers.rsp))")
    }
    let stackBytes = try tracee.readMemory(at: registers.rsp, count: Int(stack.end - registers.rsp))
    let executablePath = readLink("/proc/\(pid)/exe") ?? argv.first ?? "?"
    guard let executable = try saveFile(at: "/proc/\(pid)/exe", originalPath: executablePath) else {
      throw RecordError.trace(description: "the executable \(executablePath) is not a regular file")
    }
    var mappings: [InitialMapping] = []
    for entry in maps {
      var file: MappedFile?
      if entry.isFileBacked {
        let mapFile = "/proc/\(pid)/map_files/\(String(entry.start, radix: 16))-\(String(entry.end, radix: 16))"
        file = try saveFile(at: mapFile, originalPath: entry.name)
      }
      mappings.append(
        InitialMapping(
          start: entry.start, end: entry.end, permissions: entry.permissions, fileOffset: entry.offset,
          file: file, name: entry.name))
    }
    task.pendingExec = ExecEvent(
      index: 0, tid: pid, executable: executable, registers: registers,
      initialStack: MemoryChunk(address: registers.rsp, bytes: stackBytes), mappings: mappings,
      argv: argv, envp: envp, cwd: readLink("/proc/\(pid)/cwd") ?? "", vdso: vdso)
  }

  /// Patches the new program's vDSO (`VDSOPatch`) and returns it as it now is, for replay to
  /// write back; nil when it cannot be patched (the caller then hides it).
  private func patchVDSO(_ maps: [MapsEntry], _ tracee: Tracee) -> MemoryChunk? {
    guard let mapping = maps.first(where: { $0.name == "[vdso]" }),
      let image = try? tracee.readMemory(at: mapping.start, count: Int(mapping.end - mapping.start))
    else { return nil }
    switch VDSOPatch.patched(image) {
    case .success(let patched):
      guard (try? tracee.writeMemory(at: mapping.start, bytes: patched)) != nil else { return nil }
      return MemoryChunk(address: mapping.start, bytes: patched)
    case .failure(let failure):
      printToStandardError("rewind: \(failure.reason): it is hidden from the program instead, whose clock reads become system calls")
      return nil
    }
  }

  /// Walks argc, argv, envp and auxv on the new stack; with `hidingVDSO`, turns
  /// AT_SYSINFO_EHDR into AT_IGNORE so libc cannot find a vDSO that could not be patched, and
  /// makes real (recorded) clock system calls (../shared/notes/vdso-hiding.md).
  private func readArguments(stackPointer: UInt64, hidingVDSO: Bool, _ tracee: Tracee) throws -> ([String], [String]) {
    var cursor = stackPointer
    func nextWord() throws -> UInt64 {
      defer { cursor += 8 }
      return try tracee.readWord(at: cursor)
    }
    let argc = try nextWord()
    var argv: [String] = []
    for _ in 0..<argc { argv.append(String(decoding: try tracee.readCString(at: try nextWord()), as: UTF8.self)) }
    _ = try nextWord()  // argv's NULL
    var envp: [String] = []
    while true {
      let pointer = try nextWord()
      if pointer == 0 { break }
      envp.append(String(decoding: try tracee.readCString(at: pointer), as: UTF8.self))
    }
    while true {
      let typeAddress = cursor
      let type = try nextWord()
      _ = try nextWord()
      if type == auxvNull { break }
      if type == auxvSysinfoEhdr && hidingVDSO {
        try tracee.writeMemory(at: typeAddress, bytes: littleEndianBytes(auxvIgnore))
      }
    }
    return (argv, envp)
  }
}

func littleEndianBytes<Value: FixedWidthInteger>(_ value: Value) -> [UInt8] {
  (0..<Value.bitWidth / 8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
}
