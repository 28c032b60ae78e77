/// A packet gdb sent that the server cannot act on, naming the packet and what was
/// expected, e.g. `malformed 'm' packet "m1000": expected ',<length>' after the address`.
/// The server answers it with an error reply and keeps serving.
public struct GDBProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The packet's name as gdb documents it: `m`, `vCont`, `qXfer:auxv:read`.
  public var packetName: String
  public var payload: String
  public var expectation: String

  public init(packetName: String, payload: String, expectation: String) {
    self.packetName = packetName
    self.payload = payload
    self.expectation = expectation
  }

  public var description: String {
    "malformed '\(packetName)' packet \(payload): \(expectation)"
  }
}
