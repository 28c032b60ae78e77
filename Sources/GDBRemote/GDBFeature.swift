/// One entry of a `qSupported` list: `name+`, `name-`, `name?` or `name=value`.
public struct GDBFeature: Hashable, Sendable, CustomStringConvertible {
  public enum Value: Hashable, Sendable {
    case supported
    case unsupported
    case query
    case value(String)
  }

  public var name: String
  public var value: Value

  public init(_ name: String, _ value: Value = .supported) {
    self.name = name
    self.value = value
  }

  /// The wire form, as it appears in a `qSupported` request or reply.
  public var description: String {
    switch value {
    case .supported: return name + "+"
    case .unsupported: return name + "-"
    case .query: return name + "?"
    case .value(let value): return name + "=" + value
    }
  }

  init(parsing text: Substring) {
    if let equals = text.firstIndex(of: "=") {
      self.init(String(text[..<equals]), .value(String(text[text.index(after: equals)...])))
      return
    }
    switch text.last {
    case "+": self.init(String(text.dropLast()), .supported)
    case "-": self.init(String(text.dropLast()), .unsupported)
    case "?": self.init(String(text.dropLast()), .query)
    // gdb always marks a feature; a bare name is read as supported.
    default: self.init(String(text), .supported)
    }
  }
}
