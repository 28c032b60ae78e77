/// One packet from gdb, parsed. `init(parsing:)` is in `GDBRequest+Parsing.swift`.
///
/// Anything not listed is `.unsupported` and answered with an empty packet, which gdb
/// reads as "not implemented" and works around.
public enum GDBRequest: Hashable, Sendable {
  /// `?`: why the target is stopped.
  case haltReason
  /// `g`: all registers of the thread chosen with `Hg`.
  case readRegisters
  /// `G hex`: all registers, in target-description order.
  case writeRegisters([UInt8])
  /// `p n`
  case readRegister(Int)
  /// `P n=hex`
  case writeRegister(Int, [UInt8])
  /// `m addr,length`
  case readMemory(address: UInt64, count: Int)
  /// `M addr,length:hex` and `X addr,length:binary` (the decoder already unescaped it).
  case writeMemory(address: UInt64, bytes: [UInt8])
  /// `c`, `s`, `C`, `S`, `vCont;…`, `bc`, `bs`.
  case resume([ResumeAction], direction: Direction)
  /// `vCont?`
  case resumeActionsQuery
  /// The 0x03 byte between packets (the decoder's `.interrupt`).
  case interrupt
  /// `Z0`-`Z4`
  case insertBreakpoint(Breakpoint)
  /// `z0`-`z4`
  case removeBreakpoint(Breakpoint)
  /// `Hg thread`: the thread later `g`/`p`/`m` refer to.
  case selectThreadForRegisters(ThreadSelector)
  /// `Hc thread`: the thread a later `c`/`s` resumes (old gdbs; new ones use vCont).
  case selectThreadForResume(ThreadSelector)
  /// `T thread`
  case isThreadAlive(ThreadSelector)
  /// `qSupported:features`
  case supported([GDBFeature])
  /// `qXfer:features:read:annex:offset,length`; annex is usually `target.xml`.
  case readFeatures(annex: String, offset: Int, length: Int)
  /// `qXfer:auxv:read::offset,length`
  case readAuxv(offset: Int, length: Int)
  /// `qXfer:exec-file:read:annex:offset,length`; the annex is a hex pid or empty.
  case readExecFile(pid: Int32?, offset: Int, length: Int)
  /// `qfThreadInfo`
  case threadListFirst
  /// `qsThreadInfo`
  case threadListNext
  /// `qC`
  case currentThread
  /// `qAttached[:pid]`
  case attached(pid: Int32?)
  /// `qRcmd,hex`: a `monitor` command, decoded from hex.
  case monitor(String)
  case startNoAckMode
  /// `QCatchSyscalls:0` is `.none`; `QCatchSyscalls:1` catches all; with numbers, those.
  case catchSyscalls(SyscallCatch)
  /// `QNonStop:0|1`
  case nonStop(Bool)
  case file(FileRequest)
  /// `vKill;pid` and `k`
  case kill(pid: Int32?)
  /// `D` and `D;pid`
  case detach(pid: Int32?)
  case offsets
  /// `qSymbol::` (gdb offers to look symbols up) or `qSymbol:value:namehex`; the text
  /// after `qSymbol:` is kept, since the server has no symbols to ask for.
  case symbol(String)
  case mustReplyEmpty
  case unsupported(String)

  /// Which system calls `QCatchSyscalls` asks to stop at.
  public enum SyscallCatch: Hashable, Sendable {
    case none
    case all
    case only([Int])
  }
}
