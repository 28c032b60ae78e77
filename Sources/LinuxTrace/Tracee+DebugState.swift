import CSupport
import Glibc

/// What a debugger reads beyond the general registers: debug registers, and the x87, SSE
/// and AVX state.
extension Tracee {
  /// Reads debug register `index` (0-3 addresses, 6 status, 7 control) with PTRACE_PEEKUSER.
  public func debugRegister(_ index: Int) throws(Errno) -> UInt64 {
    // PEEKUSER returns the word itself, so -1 is an error only when errno says so.
    errno = 0
    let value = rewind_ptrace(3, tid, rewind_offsetof_user_debugreg(Int32(index)), 0)
    if value == -1 && errno != 0 { throw Errno.current }
    return UInt64(bitPattern: Int64(value))
  }

  /// PTRACE_GETFPREGS: the 512-byte FXSAVE image (x87, MXCSR, XMM0-15).
  public func floatingPointState() throws(Errno) -> [UInt8] {
    var area = [UInt8](repeating: 0, count: 512)
    let r = area.withUnsafeMutableBytes { rewind_ptrace(14, tid, 0, UInt(bitPattern: $0.baseAddress)) }
    if r == -1 { throw Errno.current }
    return area
  }

  /// PTRACE_GETREGSET NT_X86_XSTATE: the XSAVE image in its standard (uncompacted) form,
  /// whose AVX upper halves sit at byte 576; nil when the CPU has no XSAVE.
  public func extendedState() throws(Errno) -> [UInt8]? {
    var area = [UInt8](repeating: 0, count: 16384)
    let r: Int = area.withUnsafeMutableBytes { buffer in
      var vector = iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)
      let r = withUnsafeMutablePointer(to: &vector) { rewind_ptrace(0x4204, tid, 0x202, UInt(bitPattern: $0)) }
      return r == -1 ? -1 : vector.iov_len
    }
    if r == -1 {
      if errno == ENODEV || errno == EINVAL { return nil }
      throw Errno.current
    }
    return Array(area.prefix(r))
  }
}

extension Tracee {
  /// DR7 first (nothing enabled while the addresses change), then DR0-DR3 and DR6: no
  /// watch left behind. Errors are ignored: a thread that ended needs none.
  public func clearDebugRegisters() {
    try? setDebugRegister(7, to: 0)
    for i in 0..<4 { try? setDebugRegister(i, to: 0) }
    try? setDebugRegister(6, to: 0)
  }

  /// PTRACE_SETREGSET NT_X86_XSTATE: puts back an XSAVE image `extendedState` returned.
  public func setExtendedState(_ area: [UInt8]) throws(Errno) {
    var copy = area
    let r: Int = copy.withUnsafeMutableBytes { buffer in
      var vector = iovec(iov_base: buffer.baseAddress, iov_len: buffer.count)
      return withUnsafeMutablePointer(to: &vector) { rewind_ptrace(0x4205, tid, 0x202, UInt(bitPattern: $0)) }
    }
    if r == -1 { throw Errno.current }
  }

  /// PTRACE_SETFPREGS: puts back a FXSAVE image `floatingPointState` returned.
  public func setFloatingPointState(_ area: [UInt8]) throws(Errno) {
    var copy = area
    let r = copy.withUnsafeMutableBytes { rewind_ptrace(15, tid, 0, UInt(bitPattern: $0.baseAddress)) }
    if r == -1 { throw Errno.current }
  }

  /// get_robust_list(2) of the tracee: the head of its robust futex list and the list's
  /// size (a tracer may read any of its tracees').
  public func robustList() throws(Errno) -> (head: UInt64, length: UInt64) {
    var head: UInt64 = 0
    var length: UInt64 = 0
    let r = withUnsafeMutablePointer(to: &head) { headPointer in
      withUnsafeMutablePointer(to: &length) { rewind_get_robust_list(tid, headPointer, $0) }
    }
    if r == -1 { throw Errno.current }
    return (head, length)
  }
}
