/// A rule that makes system calls fail or return a chosen value, written as strace's
/// `-e inject=` expression: `SET:error=ERRNO|retval=VALUE[:when=EXPR]`.
///
/// SET is a comma-separated list of call names (or numbers). `when=` says which of each
/// thread's calls of the set are changed, counting from 1 as strace does: `N` (only the Nth),
/// `N+` (the Nth and every one after), `N+S` (the Nth and every Sth after it), `N..M`
/// (the Nth to the Mth), `N..M+S`. Without `when=`, every call is changed.
public struct InjectionRule: Sendable, Equatable {
  /// The system call numbers the rule applies to.
  public var calls: Set<Int>
  /// What the changed call returns: a negative errno or a value.
  public var result: Int64
  public var first: Int
  public var last: Int?
  public var step: Int

  /// Calls that never return to the program, or whose return is not a result: changing them
  /// makes no sense.
  public static let refused: Set<String> = ["exit", "exit_group", "rt_sigreturn", "restart_syscall"]

  /// Whether the `count`th call (from 1) of one thread to a call of the set is changed.
  public func applies(toOccurrence count: Int) -> Bool {
    guard count >= first else { return false }
    if let last, count > last { return false }
    if step == 0 { return count == first }
    return (count - first) % step == 0
  }

  /// Parses strace's syntax; the error says what is wrong and what would be right.
  public init(parsing text: String) throws(InjectionRuleError) {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    guard let set = parts.first, !set.isEmpty else {
      throw InjectionRuleError("'\(text)' names no system call: write SYSCALL[,SYSCALL...]:error=ERRNO or :retval=N, e.g. write:error=ENOSPC:when=3")
    }
    var calls: Set<Int> = []
    for name in set.split(separator: ",").map(String.init) {
      let call = Int(name).flatMap { SyscallTable.syscall(numbered: $0) } ?? SyscallTable.syscall(named: name)
      guard let call else { throw InjectionRuleError("'\(name)' in '\(text)' is not a system call this rewind knows") }
      guard !Self.refused.contains(call.name) else {
        throw InjectionRuleError("\(call.name) never returns to the program: its result cannot be changed")
      }
      calls.insert(call.number)
    }
    var result: Int64?
    var first = 1, last: Int?, step = 1
    for part in parts.dropFirst() {
      let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
      guard pair.count == 2 else {
        throw InjectionRuleError("'\(part)' in '\(text)' is not KEY=VALUE (error=, retval= or when=)")
      }
      switch pair[0] {
      case "error":
        guard result == nil else { throw InjectionRuleError("'\(text)' gives error= or retval= twice; give one") }
        guard let errno = ErrnoNames.number(named: pair[1]) ?? Int(pair[1]).flatMap({ ErrnoNames.lookup($0) != nil && $0 < 512 ? $0 : nil })
        else { throw InjectionRuleError("'\(pair[1])' is not an errno name Linux defines (ENOSPC, EIO, EINTR...)") }
        result = -Int64(errno)
      case "retval":
        guard result == nil else { throw InjectionRuleError("'\(text)' gives error= or retval= twice; give one") }
        guard let value = Int64(pair[1]), !(-4095 ... -1).contains(value) else {
          throw InjectionRuleError("retval=\(pair[1]) is not a value a call returns (give a number outside -4095..-1; for errors, error=NAME)")
        }
        result = value
      case "when":
        (first, last, step) = try Self.parseWhen(pair[1])
      default:
        throw InjectionRuleError("'\(pair[0])=' in '\(text)' is not something rewind injects: give error=, retval= and when=")
      }
    }
    guard let result else {
      throw InjectionRuleError("'\(text)' says what to change but not into what: add :error=ERRNO or :retval=N")
    }
    self.calls = calls
    self.result = result
    self.first = first
    self.last = last
    self.step = step
  }

  /// `N`, `N+`, `N+S`, `N..M`, `N..M+S`: (first, last, step); step 0 means only `first`.
  private static func parseWhen(_ text: String) throws(InjectionRuleError) -> (Int, Int?, Int) {
    let bad = InjectionRuleError("when=\(text) is not N, N+, N+STEP, N..M or N..M+STEP (counting each thread's calls from 1)")
    var rest = Substring(text)
    var step = 0
    if let plus = rest.firstIndex(of: "+") {
      let after = rest[rest.index(after: plus)...]
      if after.isEmpty { step = 1 } else {
        guard let value = Int(after), value > 0 else { throw bad }
        step = value
      }
      rest = rest[..<plus]
    }
    let range = rest.split(separator: ".", omittingEmptySubsequences: false)
    if range.count == 1 {
      guard let first = Int(range[0]), first > 0 else { throw bad }
      return (first, nil, step)
    }
    guard range.count == 3, range[1].isEmpty, let first = Int(range[0]), let last = Int(range[2]), first > 0, last >= first else {
      throw bad
    }
    return (first, last, max(step, 1))
  }
}

public struct InjectionRuleError: Error, Sendable, CustomStringConvertible {
  public var description: String
  init(_ description: String) { self.description = description }
}
