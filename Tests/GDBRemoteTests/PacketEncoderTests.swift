import Testing

@testable import GDBRemote

@Suite struct PacketEncoderTests {
  /// Frames raw payload bytes without escaping, as a test's stand-in for gdb.
  static func frame(_ raw: [UInt8]) -> [UInt8] {
    let sum = raw.reduce(UInt8(0), &+)
    return [UInt8(ascii: "$")] + raw + Array("#\(hex2(sum))".utf8)
  }

  @Test func textIsFramedWithALowercaseChecksum() {
    #expect(PacketEncoder.encode("OK") == Array("$OK#9a".utf8))
    #expect(PacketEncoder.encode("") == Array("$#00".utf8))
    #expect(PacketEncoder.encode("vMustReplyEmpty") == Array("$vMustReplyEmpty#3a".utf8))
  }

  @Test func specialBytesAreEscapedAndTheChecksumCoversTheEscapes() {
    let encoded = PacketEncoder.encode([UInt8(ascii: "$"), UInt8(ascii: "#"), UInt8(ascii: "}"), UInt8(ascii: "*"), 0])
    #expect(encoded == PacketEncoderTests.frame([0x7d, 0x04, 0x7d, 0x03, 0x7d, 0x5d, 0x7d, 0x0a, 0]))
  }

  @Test func whatTheEncoderWritesTheDecoderReadsBack() {
    let payload = (0...255).map { UInt8($0) }
    var decoder = PacketDecoder()
    #expect(decoder.feed(PacketEncoder.encode(payload)) == [.packet(payload)])
  }
}
