/// What a `Z`/`z` packet inserts or removes: `Ztype,addr,kind`.
public struct Breakpoint: Hashable, Sendable {
  public enum Kind: UInt8, Hashable, Sendable {
    case software = 0
    case hardware = 1
    case writeWatchpoint = 2
    case readWatchpoint = 3
    case accessWatchpoint = 4
  }

  public var kind: Kind
  public var address: UInt64
  /// For breakpoints, the instruction size gdb would patch (1 on x86-64); for
  /// watchpoints, the number of bytes watched.
  public var size: Int
  /// gdb's conditions (`;X len,bytes`), for a target that evaluates them
  /// (`ConditionEvaluatingTarget`): the breakpoint stops when any holds, or when there is none.
  public var conditions: [AgentExpression]

  public init(_ kind: Kind, address: UInt64, size: Int, conditions: [AgentExpression] = []) {
    self.kind = kind
    self.address = address
    self.size = size
    self.conditions = conditions
  }
}
