/// Turns the byte stream from gdb into frames, whatever chunks the socket delivers.
///
/// Like a NIO `ByteToMessageDecoder`, it keeps partial state between `feed` calls, so a
/// packet split across reads, or several packets in one read, decode the same way.
/// Escapes and run-length encoding are undone here because the checksum covers the
/// bytes as sent, not the payload they stand for.
public struct PacketDecoder: Sendable {
  public enum Frame: Equatable, Sendable, CustomStringConvertible {
    /// A packet whose checksum matched: its payload, unescaped and run-length decoded.
    case packet([UInt8])
    /// The 0x03 byte gdb sends between packets when the user presses ^C.
    case interrupt
    case ack
    case nack
    /// A packet that cannot be used (bad checksum, too long); the server answers `-`.
    case malformed(String)

    /// Payloads as quoted text, so logs and test failures are readable.
    public var description: String {
      switch self {
      case .packet(let payload): return "packet " + quoted(payload, limit: 200)
      case .interrupt: return "interrupt"
      case .ack: return "ack"
      case .nack: return "nack"
      case .malformed(let reason): return "malformed: " + reason
      }
    }
  }

  private enum State: Sendable {
    case idle
    case payload
    case checksumHigh
    case checksumLow(high: UInt8)
  }

  /// Set once the server has answered `OK` to `QStartNoAckMode`. Then neither side
  /// sends `+`/`-` (see `acknowledgement(for:)`). Checksums are still checked: gdb
  /// cannot be asked to retransmit any more, so the server answers a malformed
  /// packet with an error reply instead of the `-` it sends in ack mode.
  public var noAckMode = false

  /// Longer packets are refused instead of growing the buffer without bound; gdb
  /// never sends more than the PacketSize the server advertised.
  public let maximumPacketSize: Int

  private var state = State.idle
  private var raw: [UInt8] = []
  private var sum: UInt8 = 0
  /// The packet outgrew `maximumPacketSize`; the rest of it is read (so its bytes
  /// are not taken for acks or ^C) but not kept.
  private var overflowed = false

  public init(maximumPacketSize: Int = 1 << 20) {
    self.maximumPacketSize = maximumPacketSize
  }

  /// Decodes what `bytes` completes; bytes of an unfinished packet are kept for later.
  public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [Frame] where Bytes.Element == UInt8 {
    var frames: [Frame] = []
    for byte in bytes {
      if let frame = consume(byte) { frames.append(frame) }
    }
    return frames
  }

  private mutating func consume(_ byte: UInt8) -> Frame? {
    switch state {
    case .idle:
      switch byte {
      case UInt8(ascii: "$"):
        startPacket()
        return nil
      case UInt8(ascii: "+"): return .ack
      case UInt8(ascii: "-"): return .nack
      case 0x03: return .interrupt
      default: return nil  // Line noise between packets carries no meaning.
      }
    case .payload:
      switch byte {
      case UInt8(ascii: "#"):
        state = .checksumHigh
        return nil
      case UInt8(ascii: "$"):
        // gdb escapes '$' inside a payload, so this is a new packet after a lost '#'.
        let reason = "packet \(quoted(raw)) was cut off by a new '$' before its '#'"
        startPacket()
        return .malformed(reason)
      default:
        sum &+= byte
        if raw.count < maximumPacketSize {
          raw.append(byte)
        } else {
          overflowed = true
        }
        return nil
      }
    case .checksumHigh:
      guard let high = hexValue(byte) else { return badChecksumDigit(byte) }
      state = .checksumLow(high: high)
      return nil
    case .checksumLow(let high):
      guard let low = hexValue(byte) else { return badChecksumDigit(byte) }
      state = .idle
      guard !overflowed else { return .malformed("packet longer than \(maximumPacketSize) bytes") }
      let sent = high << 4 | low
      guard sent == sum else {
        return .malformed(
          "checksum of \(quoted(raw)) is \(hex2(sum)) but the packet says \(hex2(sent))")
      }
      return decodePayload()
    }
  }

  /// What the server sends back for `frame` before anything else: `+` for a good
  /// packet, `-` to ask for a bad one again, nothing in no-ack mode or for the
  /// frames that are not packets.
  public func acknowledgement(for frame: Frame) -> UInt8? {
    guard !noAckMode else { return nil }
    switch frame {
    case .packet: return UInt8(ascii: "+")
    case .malformed: return UInt8(ascii: "-")
    case .interrupt, .ack, .nack: return nil
    }
  }

  private mutating func startPacket() {
    state = .payload
    raw = []
    sum = 0
    overflowed = false
  }

  private mutating func badChecksumDigit(_ byte: UInt8) -> Frame {
    state = .idle
    return .malformed("checksum of \(quoted(raw)) has a non-hex digit \(quoted([byte]))")
  }

  /// Undoes `}` escapes (next byte XOR 0x20) and `*` run-length encoding (repeat the
  /// previous byte count-29 times, the count being a printable character).
  private func decodePayload() -> Frame {
    var payload: [UInt8] = []
    payload.reserveCapacity(raw.count)
    var index = 0
    while index < raw.count {
      let byte = raw[index]
      switch byte {
      case UInt8(ascii: "}"):
        guard index + 1 < raw.count else {
          return .malformed("packet \(quoted(raw)) ends inside an escape '}'")
        }
        payload.append(raw[index + 1] ^ 0x20)
        index += 2
      case UInt8(ascii: "*"):
        guard let previous = payload.last, index + 1 < raw.count else {
          return .malformed("packet \(quoted(raw)) has a run length '*' without a byte to repeat")
        }
        let count = Int(raw[index + 1]) - 29
        guard count >= 0 else {
          return .malformed("packet \(quoted(raw)) has an invalid run length count")
        }
        payload.append(contentsOf: repeatElement(previous, count: count))
        index += 2
      default:
        payload.append(byte)
        index += 1
      }
    }
    return .packet(payload)
  }
}

func hexValue(_ byte: UInt8) -> UInt8? {
  switch byte {
  case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
  case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
  case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
  default: return nil
  }
}

/// Two lowercase hex digits, the form checksums and byte dumps take on the wire.
func hex2(_ byte: UInt8) -> String {
  let digits = Array("0123456789abcdef")
  return String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
}

/// A payload for an error message: printable as text, other bytes as \xNN.
func quoted<Bytes: Sequence>(_ bytes: Bytes, limit: Int = 80) -> String where Bytes.Element == UInt8 {
  var text = ""
  var count = 0
  for byte in bytes {
    if count == limit {
      text += "…"
      break
    }
    if byte >= 0x20 && byte < 0x7f && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
      text.append(Character(Unicode.Scalar(byte)))
    } else {
      text += "\\x" + hex2(byte)
    }
    count += 1
  }
  return "\"" + text + "\""
}
