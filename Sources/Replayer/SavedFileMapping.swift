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
  func openSavedCopy(for event: SyscallEvent, _ task: ReplayTask) throws -> SavedCopy? {
    guard let file = event.mappedFile else { return nil }
    let arguments = event.entryRegisters.syscallArguments
    let (length, protection, flags) = (arguments[1], arguments[2], arguments[3])
    let isWritableShared = flags & 0x0f != 0x02 && protection & 0x2 != 0
    let hugePages: UInt64 = 0x4_0000  // MAP_HUGETLB: the saved copy is on no hugetlbfs
    guard length >= directMappingThreshold, !isWritableShared, flags & (0x20 | hugePages) == 0 else { return nil }
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
    let syscall: UInt64
    if registers.rip >= 2, (try? task.tracee.readMemory(at: registers.rip - 2, count: 2)) == [0x0f, 0x05] {
      syscall = registers.rip - 2
    } else {
      guard let maps = try? readMaps(of: task.realTid), let found = syscallInstruction(for: task, rip: registers.rip, maps: maps) else { return nil }
      syscall = found
    }
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
    return fd >= 0 ? SavedCopy(fd: Int32(fd), syscallInstruction: syscall) : nil
  }

  /// Closes the descriptor `openSavedCopy` opened, at the task's stop after the mmap.
  func closeSavedCopy(_ copy: SavedCopy, _ task: ReplayTask) throws {
    // The mmap's own `syscall` instruction, which it just ran: the one the open went
    // through may lie under the new mapping.
    let rip = try currentRegisters(task).rip
    let instruction = (try? task.tracee.readMemory(at: rip - 2, count: 2)) == [0x0f, 0x05] ? rip - 2 : copy.syscallInstruction
    _ = try injectSyscall(closeNumber, [UInt64(copy.fd)], in: task, from: .syscallExit, using: instruction)
  }
}

/// A saved copy of a mapped file, open in a replayed task.
struct SavedCopy {
  let fd: Int32
  /// The `syscall` instruction the open was injected through, for the close.
  let syscallInstruction: UInt64
}
