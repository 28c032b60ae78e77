/// Why code cannot be patched, or a call injected: a code point is then reached with the
/// hardware breakpoint instead of a compare stub.
public struct InjectionRefusal: Error, ExpressibleByStringLiteral, CustomStringConvertible {
  public var description: String
  public init(stringLiteral value: String) { description = value }
  public init(_ value: String) { description = value }
}
