import CSupport
import Glibc
import LinuxTrace

/// The in-program API's seccomp filter put into a process rewind attached to: a program
/// started by `rewind watch` installs it itself before exec; an attached one is made to
/// call seccomp(2) once, from a thread stopped by the attach.
///
/// The call runs at a `syscall` instruction of the vDSO (or of any executable mapping) with
/// the filter written below the thread's red zone; `SECCOMP_FILTER_FLAG_TSYNC` gives it to
/// every thread. Everything is put back afterwards: the stack bytes, and the registers, with
/// the restart the kernel would have done for a call the attach interrupted (its stop comes
/// before that restart, and the injected call's return skips it).
enum FilterInjection {
  /// Why it could not be done; nil when the filter is in place.
  static func install(in tracee: Tracee, pid: Int32) -> String? {
    guard let saved = try? tracee.registerWords() else { return "cannot read its registers" }
    guard let instruction = syscallInstruction(of: pid, tracee) else { return "no `syscall` instruction found in its code" }
    var filter = [UInt8](repeating: 0, count: 64)
    let filterSize = filter.withUnsafeMutableBytes { rewind_watch_filter($0.baseAddress, $0.count) }
    guard filterSize <= 64 else { return "the filter does not fit" }
    // sock_fprog { unsigned short len; struct sock_filter *filter; } then the filter, 128
    // bytes below the red zone, 16-aligned.
    let scratch = (saved[19] &- 128 &- 256) & ~15  // rsp: word 19
    let filterAddress = scratch + 16
    var program = [UInt8](repeating: 0, count: 16)
    withUnsafeBytes(of: UInt16(filterSize / 8).littleEndian) { program.replaceSubrange(0..<2, with: $0) }
    withUnsafeBytes(of: filterAddress.littleEndian) { program.replaceSubrange(8..<16, with: $0) }
    guard let original = try? tracee.readMemory(at: scratch, count: 16 + filterSize) else { return "cannot read its stack" }
    do { try tracee.writeMemory(at: scratch, bytes: program + filter.prefix(filterSize)) } catch { return "cannot write its stack: \(error)" }
    defer { try? tracee.writeMemory(at: scratch, bytes: original) }
    var registers = saved
    registers[16] = instruction  // rip
    registers[10] = 317  // rax: seccomp
    registers[15] = UInt64.max  // orig_rax: no call of the program's to restart
    registers[14] = 1  // rdi: SECCOMP_SET_MODE_FILTER
    registers[13] = 1  // rsi: SECCOMP_FILTER_FLAG_TSYNC
    registers[12] = scratch  // rdx: the sock_fprog
    var result: Int64 = 0
    var signals: [Int32] = []
    do {
      try tracee.setRegisterWords(registers)
      var stops = 0
      while stops < 2 {
        try tracee.resume(.syscall)
        let status = try waitForTracee(tracee.tid)
        switch status {
        case .syscallStop:
          stops += 1
        case .signalStop(let signal):
          signals.append(signal.rawValue)  // sent again once the registers are back
        case .exited, .killed:
          return "the thread ended"
        default:
          break
        }
      }
      result = Int64(bitPattern: try tracee.registerWords()[10])
    } catch {
      return "the injected call failed: \(error)"
    }
    try? tracee.setRegisterWords(kernelRestart(ofRegisterWords: saved) ?? saved)
    for signal in signals { _ = sendSignal(Signal(rawValue: signal), toThread: tracee.tid, ofProcess: pid) }
    if result == -Int64(EACCES) {
      return "the process lacks CAP_SYS_ADMIN, and rewind will not set no_new_privs in it"
    }
    if result < 0 { return "seccomp failed: \(Errno(rawValue: Int32(-result)))" }
    if result > 0 { return "thread \(result) has another seccomp filter" }
    return nil
  }

  /// A `syscall` instruction in the vDSO, else in any executable mapping ([vsyscall] may
  /// only be entered at its entry points).
  static func syscallInstruction(of pid: Int32, _ tracee: Tracee) -> UInt64? {
    guard let maps = try? readMaps(of: pid) else { return nil }
    let executable = maps.filter { $0.isExecutable && $0.name != "[vsyscall]" }
    return tracee.findSyscallInstruction(in: executable.filter { $0.name == "[vdso]" } + executable.filter { $0.name != "[vdso]" })
  }
}
