/// One thread of one process, as gdb names it in multiprocess form `pPID.TID`.
public struct ThreadID: Hashable, Sendable, CustomStringConvertible {
  public var pid: Int32
  public var tid: Int32

  public init(pid: Int32, tid: Int32) {
    self.pid = pid
    self.tid = tid
  }

  /// The wire form, `p1f.20` (hex, as every number in the protocol).
  public var description: String {
    "p" + String(pid, radix: 16) + "." + String(tid, radix: 16)
  }

  public func matches(_ selector: ThreadSelector) -> Bool {
    selector.process.matches(pid) && selector.thread.matches(tid)
  }
}
