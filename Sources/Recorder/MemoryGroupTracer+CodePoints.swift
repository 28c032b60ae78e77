import CCapstone
import CSupport
import CodePatch
import LinuxTrace
import TraceFormat

extension MemoryGroupTracer {
  /// The memory part of a code point's signature (`CodePointMemory`): the values at the
  /// operands of the instructions around `registers.rip`, in the task's private memory.
  ///
  /// Left out, because replay could not see the same values there even at the right pass:
  /// memory shared with other processes or the kernel ([vvar], [vdso]), memory below the
  /// red zone (where signal frames come and go), and thread-local operands (`%fs:`).
  func codePointMemory(of task: RecordedTask, at registers: Registers) -> [CodePointMemory] {
    let rip = registers.rip
    let before: UInt64 = rip >= 256 ? 256 : 0
    guard let code = (try? task.tracee.readMemory(at: rip - before, count: 512)).map({ (rip - before, $0) })
      ?? (try? task.tracee.readMemory(at: rip, count: 64)).map({ (rip, $0) })
    else { return [] }
    let capacity = 8
    var addresses = [UInt64](repeating: 0, count: capacity)
    var sizes = [UInt8](repeating: 0, count: capacity)
    let count = code.1.withUnsafeBufferPointer { bytes in
      registers.words.withUnsafeBufferPointer { words in
        rewind_code_point_operands(
          bytes.baseAddress!, bytes.count, code.0, rip, words.baseAddress!, 12, &addresses, &sizes, Int32(capacity))
      }
    }
    guard count > 0, let maps = try? readMaps(of: task.tid) else { return [] }
    let redZoneEnd = registers.rsp &- 128
    let buffers = syscallBufferRanges()
    var memory: [CodePointMemory] = []
    for i in 0..<Int(count) {
      let address = addresses[i]
      let size = UInt64(sizes[i])
      // An operand's address is computed from whatever the registers hold (-8 off a zero
      // register wraps to the top): one that wraps past the end names no memory. (Adding
      // without the check trapped: rewind died of SIGILL, preempting threads under load.)
      let (end, wraps) = address.addingReportingOverflow(size)
      if wraps { continue }
      if address < redZoneEnd && address >= redZoneEnd &- 65536 { continue }
      if buffers.contains(where: { $0.overlaps(address..<end) }) { continue }
      guard
        let mapping = maps.first(where: { $0.start <= address && end <= $0.end }),
        mapping.permissions.hasPrefix("r"), mapping.permissions.hasSuffix("p"),
        !["[vvar]", "[vdso]", "[vsyscall]", "[vvar_vclock]"].contains(mapping.name),
        let value = try? task.tracee.readValue(at: address, size: Int(size))
      else { continue }
      memory.append(CodePointMemory(address: address, size: UInt8(size), value: value))
    }
    return memory
  }

  /// The stack part of a code point's signature (`StackSignature`).
  func stackSignature(of task: RecordedTask, at registers: Registers) -> StackSignature? {
    StackSignature.take(at: registers.rsp) { address, count in try? task.tracee.readMemory(at: address, count: count) }
  }

  /// The system call buffers of the group's threads: the library keeps its own state there,
  /// and replay writes the feed and its flags, so a code point's signature leaves them out.
  func syscallBufferRanges() -> [Range<UInt64>] {
    Array(Set(tasks.values.compactMap { $0.buffer?.address })).map { $0..<$0 + UInt64(REWIND_BUFFER_SIZE) }
  }

  /// The memory the registers point to (`ReachedMemory`), where replay sees what the
  /// recording saw: private writable memory that is not executable (replay patches code),
  /// not [vvar]/[vdso], and not the 64 KiB below
  /// the red zone, where signal frames come and go (as for `codePointMemory`). The stack
  /// signature's bytes above rsp are left out too: they are compared already, and words of
  /// them taken twice crowded the words that change out of the stub's few.
  func reachedMemory(of task: RecordedTask, at registers: Registers, stack: StackSignature?) -> [MemoryChunk] {
    guard let maps = try? readMaps(of: task.tid) else { return [] }
    // Plain bounds, looked up ~200 times an event: a search over `MapsEntry` values (with
    // their strings) cost milliseconds in a debug build, more than a 2 ms timer's interval.
    // Not executable memory either (a JIT's code): replay patches compare stubs into it.
    let writable = maps.filter {
      $0.permissions.hasPrefix("rw") && !$0.isExecutable && $0.isPrivate && !["[vvar]", "[vdso]", "[vvar_vclock]"].contains($0.name)
    }.map { $0.start..<$0.end }
    let redZoneEnd = registers.rsp &- 128
    // The system call buffers too: the library's and rewind's, which replay writes otherwise.
    let excludedRanges = [(redZoneEnd &- 65536)..<(registers.rsp &+ UInt64(StackSignature.span))] + syscallBufferRanges()
    return ReachedMemory.take(
      at: registers, stack: stack?.bytes ?? [],
      readable: { address, wanted in
        guard !excludedRanges.contains(where: { $0.contains(address) }), let mapping = writable.first(where: { $0.contains(address) })
        else { return 0 }
        var end = min(mapping.upperBound, address + UInt64(wanted))
        for range in excludedRanges where address < range.lowerBound { end = min(end, range.lowerBound) }
        return Int(end - address)
      },
      read: { address, count in try? task.tracee.readMemory(at: address, count: count) })
  }

  /// Instructions a preempted task is stepped at most to reach a point replay can patch.
  static let preemptionStepLimit = 64
  /// Instructions a task is stepped at most to leave an rseq critical section (they are
  /// short, straight-line code by design).
  static let rseqStepLimit = 4096

  /// Whether replay will find a code point at `registers` with a compare stub: the code
  /// there is in a private executable mapping, and `PatchSiteChooser` finds a site in it.
  func replayPatches(at registers: Registers, in task: RecordedTask) -> Bool {
    let rip = registers.rip
    guard let maps = try? readMaps(of: task.tid),
      let mapping = maps.first(where: { $0.start <= rip && rip < $0.end }),
      mapping.isReadable, mapping.isExecutable, mapping.isPrivate
    else { return false }
    let range = PatchSiteChooser.window(around: rip, in: mapping.start..<mapping.end)
    guard let window = try? task.tracee.readMemory(at: range.lowerBound, count: range.count) else { return false }
    if case .success = patchSiteChooser.site(codePoint: rip, window: window, windowStart: range.lowerBound) { return true }
    return false
  }

  /// Whether the task, stopped in user code, may run its next instruction under
  /// PTRACE_SINGLESTEP: not interrupted inside a system call (the kernel would restart it),
  /// and not an instruction that enters the kernel or traps under rewind.
  func maySingleStep(at registers: Registers, in task: RecordedTask) -> Bool {
    guard registers.origRax == UInt64.max else { return false }
    guard let code = (try? task.tracee.readMemory(at: registers.rip, count: 16)) ?? (try? task.tracee.readMemory(at: registers.rip, count: 1))
    else { return false }
    var decoded = rewind_instruction()
    let ok = code.withUnsafeBufferPointer { rewind_decode_instruction($0.baseAddress!, $0.count, registers.rip, &decoded) }
    return ok != 0 && decoded.kind != Int32(REWIND_INSTRUCTION_INVALID) && decoded.enters_kernel == 0
  }
}
