import Glibc
import LinuxTrace
import Syscalls
import TraceFormat

/// openat(2) and close(2) numbers, and the flags the injected open uses.
private let openatNumber = 257, closeNumber = 3
private let atFDCWD = UInt64(bitPattern: -100)
private let openReadOnlyCloseOnExec: UInt64 = 0o2_000_000  // O_RDONLY | O_CLOEXEC
/// Below this, copying the saved bytes in costs less than the injected open and close.
private let directMappingThreshold: UInt64 = 256 << 10

extension ReplaySession {
  /// For an mmap of a file that replay can map from the trace's saved copy itself (a large
  /// private mapping): opens that copy in the task, stopped before the call, and returns the
  /// descriptor there, for the call to map instead of anonymous memory that `fillMapping`
  /// would fill byte by byte (a 2 MiB libc cost replay ~5 ms that way, a page fault and a
  /// copy per page). Nil where replay copies as before: a small or writable shared mapping,
  /// a saved copy on a noexec mount mapped executable, or a stop that allows no injected call.
  func openSavedCopy(for event: SyscallEvent, _ task: ReplayTask) throws -> Int32? {
    guard let file = event.mappedFile else { return nil }
    let arguments = event.entryRegisters.syscallArguments
    let (length, protection, flags) = (arguments[1], arguments[2], arguments[3])
    let hugePages: UInt64 = 0x4_0000  // MAP_HUGETLB: the saved copy is on no hugetlbfs
    guard length >= directMappingThreshold, !isWritableShared(flags: flags, protection: protection), flags & (mapAnonymous | hugePages) == 0
    else { return nil }
    // A seccomp filter the program installed (prctl runs for real) may forbid openat.
    let status = (try? readProcFile("/proc/\(task.realTid)/status")) ?? ""
    let seccomp = status.split(separator: "\n").first { $0.hasPrefix("Seccomp:") }.map { $0.dropFirst(8).filter { !$0.isWhitespace } }
    guard seccomp == "0" else { return nil }
    // Absolute: the task resolves it from its own working directory, not rewind's.
    guard let resolved = realpath(reader.savedFilePath(for: file), nil) else { return nil }
    let path = String(cString: resolved)
    free(resolved)
    var mount = statvfs()
    // Not from a noexec mount, even for a mapping without PROT_EXEC: a later mprotect may
    // add it (a loader, a JIT).
    let noExec: UInt = 8  // ST_NOEXEC
    guard statvfs(path, &mount) == 0, mount.f_flag & noExec == 0 else { return nil }
    guard case .success(let stop) = injectionStop(task) else { return nil }
    let registers = try currentRegisters(task)
    guard let syscall = syscallInstruction(for: task, rip: registers.rip) else { return nil }
    // The path goes below the red zone, and what was there comes back after the call: a
    // later system call may pass those stack bytes uninitialized, as recorded.
    let bytes = Array(path.utf8) + [0]
    let address = (registers.rsp &- 128 &- UInt64(bytes.count) &- 64) & ~0xf
    guard let original = try? task.tracee.readMemory(at: address, count: bytes.count),
      (try? task.tracee.writeMemory(at: address, bytes: bytes)) != nil
    else { return nil }
    let fd = try injectSyscall(openatNumber, [atFDCWD, address, openReadOnlyCloseOnExec], in: task, from: stop, using: syscall)
    try task.tracee.writeMemory(at: address, bytes: original)
    if debugStops { printToStandardError("[replay] event \(event.index) maps the saved copy \(path) (fd \(fd))") }
    return fd >= 0 ? Int32(fd) : nil
  }

  /// Closes the descriptor `openSavedCopy` opened, at the task's stop after the mmap.
  func closeSavedCopy(_ fd: Int32, _ task: ReplayTask) throws {
    // The mmap's own `syscall` instruction, which it just ran, unless the new mapping
    // replaced it.
    guard let instruction = syscallInstruction(for: task, rip: try currentRegisters(task).rip) else {
      throw Divergence(
        eventIndex: cursor.consumed, tid: task.recordedTid, activity: "closing a saved copy",
        differences: ["replay found no syscall instruction to close the saved copy it mapped (fd \(fd)) with"])
    }
    _ = try injectSyscall(closeNumber, [UInt64(fd)], in: task, from: .syscallExit, using: instruction)
  }
}
