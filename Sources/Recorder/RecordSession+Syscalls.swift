import Glibc
import LinuxTrace
import Syscalls
import TraceFormat

/// clone(2) flag that makes a thread rather than a process.
let cloneThreadFlag: UInt64 = 0x0001_0000
let mapAnonymousFlag: UInt64 = 0x20

extension RecordSession {
  func syscallEntered() throws {
    var registers = try registers()
    let number = Int(Int64(bitPattern: registers.origRax))
    if !hasExecuted && number != 59 {
      try tracee.resume(.syscall)
      return
    }
    guard let call = SyscallTable.syscall(numbered: number) else {
      throw RecordError.unknownSyscall(number: number, event: nextEventIndex)
    }
    if case .unsupported(let reason) = call.policy {
      throw RecordError.unsupportedSyscall(name: call.name, reason: reason, event: nextEventIndex)
    }
    try refuseThreads(call, registers)
    let entryRegisters = registers
    let inputs = captureInputs(of: call, registers)
    if call.name == "rseq" {
      // The kernel writes the rseq area (cpu_id) behind the program's back on every return to
      // user space, and replay does not run rseq. Failing it with ENOSYS, as rr does, makes
      // glibc fall back to sched_getcpu, which is an ordinary recorded call.
      registers.origRax = UInt64(bitPattern: -1)
      try tracee.setRegisterWords(registers.words)
    }
    let pending = PendingCall(call: call, entryRegisters: entryRegisters, inputs: inputs, index: 0)
    if call.name == "exit" || call.name == "exit_group" {
      // These never reach a syscall-exit stop, so the event is complete now.
      append(pending, result: 0, outputs: [], mappedFile: nil)
    } else {
      pendingCall = pending
    }
    try tracee.resume(.syscall)
  }

  func syscallExited() throws {
    guard let pending = pendingCall else {
      try tracee.resume(.syscall)
      return
    }
    pendingCall = nil
    let registers = try registers()
    let result = Int64(bitPattern: registers.rax)
    let arguments = pending.entryRegisters.syscallArguments
    let regions: [MemoryRegion]
    do {
      regions = try pending.call.writtenRegions(arguments: arguments, result: result, memory: LiveMemory(tracee: tracee))
    } catch {
      throw RecordError.syscallTable(description: "\(error)", event: nextEventIndex)
    }
    // A region the kernel reported written is readable unless the program unmapped it
    // meanwhile, which a single thread cannot do; skip rather than abort on such a race.
    let outputs = regions.compactMap { region -> MemoryChunk? in
      guard let bytes = try? tracee.readMemory(at: region.address, count: region.count) else { return nil }
      return MemoryChunk(address: region.address, bytes: bytes)
    }
    var mappedFile: MappedFile?
    if pending.call.name == "mmap", !isErrorResult(result), arguments[3] & mapAnonymousFlag == 0 {
      let fd = Int32(truncatingIfNeeded: Int64(bitPattern: arguments[4]))
      if fd >= 0 { mappedFile = try saveFile(at: "/proc/\(pid)/fd/\(fd)", originalPath: readLink("/proc/\(pid)/fd/\(fd)")) }
    }
    let passedThrough = bytesPassedThrough(pending.call, arguments: arguments, result: result)
    append(pending, result: result, outputs: outputs, mappedFile: mappedFile, passedThrough: passedThrough)
    if !hasExecuted && pending.call.name == "execve" && isErrorResult(result) {
      printToStandardError("rewind: cannot execute '\(options.executablePath)': \(Errno(rawValue: Int32(-result)))")
    }
    if var exec = pendingExec {
      pendingExec = nil
      exec.index = takeEventIndex()
      writer.append(.exec(exec))
    }
    try tracee.resume(.syscall)
  }

  func append(
    _ pending: PendingCall, result: Int64, outputs: [MemoryChunk], mappedFile: MappedFile?, passedThrough: [UInt8]? = nil
  ) {
    writer.append(
      .syscall(
        SyscallEvent(
          index: takeEventIndex(), tid: pid, entryRegisters: pending.entryRegisters, result: result,
          inputs: pending.inputs, outputs: outputs, mappedFile: mappedFile, passedThrough: passedThrough)))
  }

  private func captureInputs(of call: Syscall, _ registers: Registers) -> [MemoryChunk] {
    // An input the program passed a bad pointer for is simply not captured: the call fails
    // with EFAULT, and that result is what replay needs.
    guard let regions = try? call.inputRegions(arguments: registers.syscallArguments, memory: LiveMemory(tracee: tracee))
    else { return [] }
    return regions.compactMap { region in
      guard let bytes = try? tracee.readMemory(at: region.address, count: region.count) else { return nil }
      return MemoryChunk(address: region.address, bytes: bytes)
    }
  }

  private func refuseThreads(_ call: Syscall, _ registers: Registers) throws {
    var flags: UInt64?
    if call.name == "clone" { flags = registers.rdi }
    if call.name == "clone3" { flags = try? tracee.readWord(at: registers.rdi) }
    if let flags, flags & cloneThreadFlag != 0 {
      throw RecordError.unsupportedSyscall(
        name: call.name, reason: "the program starts a thread, and recording threads is not built yet",
        event: nextEventIndex)
    }
    if ["clone", "clone3", "fork", "vfork"].contains(call.name) && !warnedAboutChildren {
      warnedAboutChildren = true
      printToStandardError(
        "rewind: process \(pid) creates a child process; child processes are not recorded yet, "
          + "so their output is not replayed (the parent replays faithfully).")
    }
  }

  /// Saves the regular file behind `procPath` in the trace; nil for devices and pipes
  /// (mmap of /dev/zero is anonymous memory; other devices are not replayable files).
  func saveFile(at procPath: String, originalPath: String?) throws -> MappedFile? {
    let fd = open(procPath, O_RDONLY | O_CLOEXEC)
    if fd < 0 { return nil }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
    do {
      return try writer.saveFile(openFileDescriptor: fd, originalPath: originalPath ?? procPath)
    } catch {
      throw RecordError.trace(description: "saving \(originalPath ?? procPath): \(error)")
    }
  }
}

/// True for the -4095...-1 range the kernel uses for -errno.
func isErrorResult(_ result: Int64) -> Bool { result < 0 && result >= -4095 }
