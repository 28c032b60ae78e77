/// Frames a reply payload as `$payload#xx`.
///
/// `$`, `#`, `}` and `*` are escaped (`}` then the byte XOR 0x20) so binary replies
/// (qXfer, vFile:pread) cannot end the packet early or be read as run-length encoding.
/// Replies are never run-length encoded: the saving is small and every gdb accepts
/// plain packets.
public enum PacketEncoder {
  public static func encode<Bytes: Sequence>(_ payload: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
    var packet: [UInt8] = [UInt8(ascii: "$")]
    var sum: UInt8 = 0
    for byte in escape(payload) {
      packet.append(byte)
      sum &+= byte
    }
    packet.append(UInt8(ascii: "#"))
    packet.append(contentsOf: hex2(sum).utf8)
    return packet
  }

  public static func encode(_ payload: String) -> [UInt8] {
    encode(Array(payload.utf8))
  }

  /// The escaped form of `bytes`, as it goes inside a packet.
  public static func escape<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
    var escaped: [UInt8] = []
    escaped.reserveCapacity(bytes.underestimatedCount)
    for byte in bytes {
      switch byte {
      case UInt8(ascii: "$"), UInt8(ascii: "#"), UInt8(ascii: "}"), UInt8(ascii: "*"):
        escaped.append(UInt8(ascii: "}"))
        escaped.append(byte ^ 0x20)
      default:
        escaped.append(byte)
      }
    }
    return escaped
  }
}
