/// One action of a resume packet: what the threads `threads` selects should do.
///
/// `c`/`s`/`bc`/`bs` become a single action for all threads; `vCont` gives one per
/// `;`, and gdb applies the first that matches each thread, so order matters.
public struct ResumeAction: Hashable, Sendable {
  public enum Kind: Hashable, Sendable {
    case `continue`
    case step
    /// vCont `t`: stop the thread (only meaningful in non-stop mode).
    case stop
  }

  public var kind: Kind
  /// The signal to deliver on resuming (`C`/`S`), nil for none.
  public var signal: UInt8?
  public var threads: ThreadSelector
  /// `c addr` / `s addr` resume at this address instead of the current pc.
  public var address: UInt64?

  public init(_ kind: Kind, signal: UInt8? = nil, threads: ThreadSelector = .all, address: UInt64? = nil) {
    self.kind = kind
    self.signal = signal
    self.threads = threads
    self.address = address
  }
}
