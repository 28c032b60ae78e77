import Glibc
import LinuxTrace
import Syscalls
import TraceFormat

/// clone(2) flags.
let cloneThreadFlag: UInt64 = 0x0001_0000
let cloneVM: UInt64 = 0x100
let cloneVfork: UInt64 = 0x4000
let mapAnonymousFlag: UInt64 = 0x20

extension MemoryGroupTracer {
  func syscallEntered(_ task: RecordedTask) throws {
    if task.movesAtNextEntry && !hasBufferedEvents(of: task.tid) {
      task.movesAtNextEntry = false
      task.isInsideSyscall = false
      try handOffAtEntry(task)
      return
    }
    var registers = try registers(of: task)
    noteBufferRegistration(registers, task)
    bufferedCallEnteredTraced(registers, task)
    let number = Int(Int64(bitPattern: registers.origRax))
    if !task.hasExecuted && number != 59 {
      try runInKernel(task)
      return
    }
    guard let call = SyscallTable.syscall(numbered: number) else {
      throw RecordError.unknownSyscall(number: number, event: session.eventCount)
    }
    if case .unsupported(let reason) = call.policy {
      throw RecordError.unsupportedSyscall(name: call.name, reason: reason, event: session.eventCount)
    }
    let entryRegisters = registers
    let inputs = captureInputs(of: call, registers, task)
    var pending = RecordedTask.PendingCall(call: call, tid: task.tid, entryRegisters: entryRegisters, inputs: inputs)
    if call.name == "rseq" || call.name == "io_uring_setup" {
      // The kernel never runs these. rseq is emulated (`emulateRseq`) at the exit stop. The
      // kernel works io_uring's rings outside any call; failing io_uring_setup with ENOSYS
      // makes programs (and liburing users) fall back to read and write.
      registers.origRax = UInt64(bitPattern: -1)
      try task.tracee.setRegisterWords(registers.words)
      pending.emulatesRseq = call.name == "rseq"
    }
    if let injected = injectedResult(for: call, task) {
      // `--inject`: the call never runs (as for rseq above); its exit stop gets the result.
      registers.origRax = UInt64(bitPattern: -1)
      try task.tracee.setRegisterWords(registers.words)
      pending.injectedResult = injected
    }
    pending.slot = reserveSlot(for: task.tid)
    if call.name == "exit_group" || (isExec(call) && (procStatusField("Threads", of: task.tid) ?? 1) > 1) {
      scheduler.exitingProcesses.insert(task.tgid)
    }
    if call.name == "exit" || call.name == "exit_group" {
      // These never reach a syscall-exit stop, so the event is complete now.
      fill(pending.slot, with: [syscallEvent(pending, task, result: 0, outputs: [])])
    } else {
      task.pendingCall = pending
    }
    if call.name == "exit" && task.isThread {
      // A thread's tid is cleared (CLONE_CHILD_CLEARTID) while it exits, after this entry:
      // it keeps the token until it is gone, so that what the others see does not depend on
      // how far its exit got. Replay runs the exit through at this event likewise.
      try task.tracee.resume(.syscall)
    } else {
      try runInKernel(task, keepsToken: !MemoryGroupTracer.passesTokenAtEntry.contains(call.name))
    }
  }

  func syscallExited(_ task: RecordedTask) throws {
    guard let pending = task.pendingCall else {
      try runInUser(task)
      return
    }
    task.pendingCall = nil
    do { try callExited(pending, task) } catch {
      // The task died under us before its event was filled (say another thread's exit_group
      // killed it as its futex returned, and reading its registers or memory failed): the
      // call goes back to it, so that processEnded writes it as unfinished. Left empty, its
      // position would hold back every later event of the group until the recording ended.
      // (A guess at why threadsWokenRightBeforeExitGroup once lost its main thread's last
      // events, about 1 run in 70; not reproduced, so not shown to be the cause.)
      if !pending.isWritten && isSlotUnfilled(pending.slot) { task.pendingCall = pending }
      throw error
    }
  }

  private func callExited(_ pending: RecordedTask.PendingCall, _ task: RecordedTask) throws {
    if pending.isWritten {
      if let child = task.vforkChild, tasks[child] != nil {
        task.isHeldAfterVfork = true
      } else {
        task.vforkChild = nil
        try runInUser(task)
      }
      return
    }
    if pending.emulatesRseq && pending.injectedResult == nil,
      let (result, outputs) = emulateRseq(pending.entryRegisters.syscallArguments, task)
    {
      var registers = try registers(of: task)
      registers.rax = UInt64(bitPattern: result)
      try task.tracee.setRegisterWords(registers.words)
      fill(pending.slot, with: [syscallEvent(pending, task, result: result, outputs: outputs)])
      try runAfterCall(task)
      return
    }
    if let injected = pending.injectedResult {
      var registers = try registers(of: task)
      registers.rax = UInt64(bitPattern: injected)
      try task.tracee.setRegisterWords(registers.words)
      fill(pending.slot, with: [syscallEvent(pending, task, result: injected, outputs: [], injected: true)])
      if isExec(pending.call) { try execFailed(task) }
      try runAfterCall(task)
      return
    }
    let registers = try registers(of: task)
    let result = Int64(bitPattern: registers.rax)
    convertedCallExited(pending, result: result, task)
    let arguments = pending.entryRegisters.syscallArguments
    var outputs = try readOutputs(of: pending, result: result, task)
    if result == -516 && pending.call.name != "restart_syscall" { task.restartBlockCall = pending }
    if pending.call.name == "shmat", !isErrorResult(result) { outputs = attachedSegment(at: UInt64(bitPattern: result), task) }
    var mappedFile: MappedFile?
    if pending.call.name == "mmap", !isErrorResult(result), arguments[3] & mapAnonymousFlag == 0 {
      let fd = Int32(truncatingIfNeeded: Int64(bitPattern: arguments[4]))
      if fd >= 0 { mappedFile = try saveFile(at: "/proc/\(task.tid)/fd/\(fd)", originalPath: readLink("/proc/\(task.tid)/fd/\(fd)")) }
    }
    let passedThrough = bytesPassedThrough(pending.call, arguments: arguments, result: result, task)
    let echoFD = echoFD(of: pending.call, arguments: arguments, result: result, task)
    // Other tasks of the group took positions while this call was in the kernel: what it
    // wrote becomes visible to them only here, at its return.
    let writesLater = !outputs.isEmpty && scheduler.nextSlot > pending.slot + 1 && tasks.count > 1
    var events = [
      syscallEvent(
        pending, task, result: result, outputs: outputs, mappedFile: mappedFile, passedThrough: passedThrough,
        echoFD: echoFD, outputsWrittenLater: writesLater)
    ]
    if !task.hasExecuted && pending.call.name == "execve" && isErrorResult(result) {
      printToStandardError("rewind: cannot execute '\(session.options.executablePath)': \(Errno(rawValue: Int32(-result)))")
    }
    let exec = task.pendingExec
    if let exec {
      task.pendingExec = nil
      let tid = pending.tid
      events.append { index in
        var numbered = exec
        numbered.index = index
        numbered.tid = tid  // an exec from another thread is the one that thread made
        return .exec(numbered)
      }
    }
    fill(pending.slot, with: events)
    if writesLater {
      let tid = task.tid
      post(for: tid) { index in .memoryWrite(MemoryWriteEvent(index: index, tid: tid, chunks: outputs)) }
    }
    if isExec(pending.call) {
      if exec == nil {
        try execFailed(task)
      } else {
        // The kernel killed the other threads before the exec event; their ends follow.
        scheduler.exitingProcesses.remove(task.tgid)
      }
    }
    if exec != nil {
      try releaseVforkParent(of: task)
      if task.sharesMemoryUntilExec {
        task.sharesMemoryUntilExec = false
        task.movesAtNextEntry = !hasSharedWritableMemory(task.tid)
      }
    }
    try runAfterCall(task)
  }

  /// The result `--inject` gives this call of this thread, if a rule applies to it. Each
  /// rule counts each thread's calls of its set, as strace does.
  private func injectedResult(for call: Syscall, _ task: RecordedTask) -> Int64? {
    var result: Int64?
    for (index, rule) in session.options.injections.enumerated() where rule.calls.contains(call.number) {
      let count = (task.injectionCounts[index] ?? 0) + 1
      task.injectionCounts[index] = count
      if result == nil && rule.applies(toOccurrence: count) { result = rule.result }
    }
    return result
  }

  /// The contents of a System V shared memory segment just attached: replay maps anonymous
  /// shared memory in its place and fills it with them (another process may have written
  /// the segment before). Its length is the mapping's.
  private func attachedSegment(at address: UInt64, _ task: RecordedTask) -> [MemoryChunk] {
    guard let mapping = (try? readMaps(of: task.tid))?.first(where: { $0.start == address }),
      let bytes = try? task.tracee.readMemory(at: address, count: Int(mapping.end - mapping.start))
    else { return [] }
    return [MemoryChunk(address: address, bytes: bytes)]
  }

  /// Whether `pid` maps writable shared memory, which a forked child inherits: then parent
  /// and child stay in one memory group.
  func hasSharedWritableMemory(_ pid: Int32) -> Bool {
    guard let maps = try? readMaps(of: pid) else { return true }
    return maps.contains { $0.permissions.hasPrefix("rw") && $0.permissions.hasSuffix("s") }
  }

  /// Lets a vfork parent held for `child` go on: the child has exec'd or exited.
  func releaseVforkParent(of child: RecordedTask) throws {
    guard let parentPid = child.vforkParent, let parent = tasks[parentPid] else { return }
    child.vforkParent = nil
    parent.vforkChild = nil
    if parent.isHeldAfterVfork {
      parent.isHeldAfterVfork = false
      try runInUser(parent)
    }
  }

  /// At PTRACE_EVENT_FORK/VFORK/CLONE: the parent's call is written now, with the new pid
  /// as its result, so it precedes every event of the child in the trace.
  func childCreated(by task: RecordedTask) throws {
    let childPid = Int32(truncatingIfNeeded: try task.tracee.eventMessage())
    let child = tasks[childPid] ?? RecordedTask(tid: childPid, hasExecuted: true, awaitsAttachStop: true, isAnnounced: false)
    tasks[childPid] = child
    session.setLive(childPid, true)
    if var pending = task.pendingCall {
      var flags: UInt64 = 0
      if pending.call.name == "clone" { flags = pending.entryRegisters.rdi }
      if pending.call.name == "clone3" { flags = (try? task.tracee.readWord(at: pending.entryRegisters.rdi)) ?? 0 }
      if pending.call.name == "vfork" { flags = cloneVM | cloneVfork }
      if flags & cloneVfork != 0 {
        task.vforkChild = childPid
        child.vforkParent = task.tid
      }
      let outputs = try readOutputs(of: pending, result: Int64(childPid), task)
      fill(pending.slot, with: [syscallEvent(pending, task, result: Int64(childPid), outputs: outputs)])
      // A child on another tracer thread writes its events straight to the trace, so it may
      // move only once its fork is written; while an earlier call of this group is still in
      // progress the fork waits in the reorder buffer, and the child stays here.
      let forkIsWritten = !isSlotPending(pending.slot)
      child.movesToOwnGroup = forkIsWritten && flags & cloneVM == 0 && !hasSharedWritableMemory(task.tid)
      child.sharesMemoryUntilExec = flags & cloneVM != 0 && flags & cloneThreadFlag == 0
      child.isThread = flags & cloneThreadFlag != 0
      // A new thread makes its own buffer; a process sharing the memory shares the parent
      // thread's (it runs on its thread-local storage); a forked one has a copy of it.
      if let buffer = task.buffer, !child.isThread { child.buffer = flags & cloneVM != 0 ? buffer : buffer.copy() }
      // The kernel keeps a registration across fork, not in a child that shares the memory.
      if flags & cloneVM == 0 { child.rseq = task.rseq }
      child.tgid = child.isThread ? task.tgid : childPid
      pending.isWritten = true
      task.pendingCall = pending
    }
    child.isAnnounced = true
    if child.isHeldAtAttachStop {
      child.isHeldAtAttachStop = false
      try startRunning(child)
    }
  }

  private func readOutputs(of pending: RecordedTask.PendingCall, result: Int64, _ task: RecordedTask) throws -> [MemoryChunk] {
    // restart_syscall continues the call a signal interrupted (poll, nanosleep...): it
    // writes what that call writes (poll's revents), described by that call's arguments.
    let interrupted = pending.call.name == "restart_syscall" ? task.restartBlockCall : nil
    let call = interrupted?.call ?? pending.call
    let arguments = (interrupted ?? pending).entryRegisters.syscallArguments
    let regions: [MemoryRegion]
    do {
      regions = try call.writtenRegions(arguments: arguments, result: result, memory: LiveMemory(tracee: task.tracee))
    } catch {
      throw RecordError.syscallTable(description: "\(error)", event: session.eventCount)
    }
    // A region the kernel reported written is readable unless the program unmapped it
    // meanwhile, which a single thread cannot do; skip rather than abort on such a race.
    return regions.compactMap { region -> MemoryChunk? in
      guard let bytes = try? task.tracee.readMemory(at: region.address, count: region.count) else { return nil }
      return MemoryChunk(address: region.address, bytes: bytes)
    }
  }

  /// The event of a finished call, numbered when the group's event order writes it.
  func syscallEvent(
    _ pending: RecordedTask.PendingCall, _ task: RecordedTask, result: Int64, outputs: [MemoryChunk],
    mappedFile: MappedFile? = nil, passedThrough: [UInt8]? = nil, echoFD: Int32? = nil, outputsWrittenLater: Bool = false,
    injected: Bool = false
  ) -> (UInt64) -> TraceEvent {
    let tid = pending.tid
    return { index in
      .syscall(
        SyscallEvent(
          index: index, tid: tid, entryRegisters: pending.entryRegisters, result: result,
          inputs: pending.inputs, outputs: outputs, mappedFile: mappedFile, passedThrough: passedThrough,
          echoFD: echoFD, outputsWrittenLater: outputsWrittenLater, injected: injected))
    }
  }

  private func captureInputs(of call: Syscall, _ registers: Registers, _ task: RecordedTask) -> [MemoryChunk] {
    // An input the program passed a bad pointer for is simply not captured: the call fails
    // with EFAULT, and that result is what replay needs.
    guard let regions = try? call.inputRegions(
      arguments: registers.syscallArguments, memory: LiveMemory(tracee: task.tracee), stackPointer: registers.rsp)
    else { return [] }
    return regions.compactMap { region in
      guard let bytes = try? task.tracee.readMemory(at: region.address, count: region.count) else { return nil }
      return MemoryChunk(address: region.address, bytes: bytes)
    }
  }

  func isExec(_ call: Syscall) -> Bool { call.name == "execve" || call.name == "execveat" }

  /// Saves the regular file behind `procPath` in the trace; nil for devices and pipes
  /// (mmap of /dev/zero is anonymous memory; other devices are not replayable files).
  func saveFile(at procPath: String, originalPath: String?) throws -> MappedFile? {
    let fd = open(procPath, O_RDONLY | O_CLOEXEC)
    if fd < 0 { return nil }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
    do {
      return try session.writer.saveFile(openFileDescriptor: fd, originalPath: originalPath ?? procPath)
    } catch {
      throw RecordError.trace(description: "saving \(originalPath ?? procPath): \(error)")
    }
  }
}

