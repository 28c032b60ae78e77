import Testing

@testable import GDBRemote

/// The decoder is checked like NIO's `ByteToMessageDecoderVerifier`: the same stream
/// fed in every chunking must give the same frames.
@Suite struct PacketDecoderTests {
  /// What gdb 13 sends when it connects, with acks and a ^C in between.
  let session: [UInt8] = Array(
    "+$qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vfork-events+;exec-events+;vContSupported+;QThreadEvents+;no-resumed+;memory-tagging+;xmlRegisters=i386#77+$vMustReplyEmpty#3a+$Hgp0.0#ad"
      .utf8) + [0x03] + Array("-$m401000,8#f6".utf8)

  func decode(_ bytes: [UInt8], chunks: [Int]) -> [PacketDecoder.Frame] {
    var decoder = PacketDecoder()
    var frames: [PacketDecoder.Frame] = []
    var start = 0
    for size in chunks where start < bytes.count {
      let end = min(bytes.count, start + size)
      frames += decoder.feed(bytes[start..<end])
      start = end
    }
    frames += decoder.feed(bytes[start...])
    return frames
  }

  func packet(_ text: String) -> PacketDecoder.Frame { .packet(Array(text.utf8)) }

  @Test func aGDBSessionDecodesToItsPackets() {
    let frames = decode(session, chunks: [])
    #expect(
      frames == [
        .ack,
        packet(
          "qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vfork-events+;exec-events+;vContSupported+;QThreadEvents+;no-resumed+;memory-tagging+;xmlRegisters=i386"
        ),
        .ack, packet("vMustReplyEmpty"), .ack, packet("Hgp0.0"), .interrupt, .nack, packet("m401000,8"),
      ])
  }

  @Test func oneByteAtATimeAllAtOnceAndRandomChunksAgree() {
    let whole = decode(session, chunks: [])
    #expect(decode(session, chunks: Array(repeating: 1, count: session.count)) == whole)
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<200 {
      let chunks = (0..<session.count).map { _ in Int.random(in: 0...17, using: &generator) }
      #expect(decode(session, chunks: chunks) == whole)
    }
  }

  @Test func aWrongChecksumIsMalformedAndTheNextPacketStillDecodes() {
    let frames = decode(Array("$g#68$g#67".utf8), chunks: [])
    #expect(frames.count == 2)
    guard case .malformed(let reason) = frames.first else {
      Issue.record("expected malformed, got \(frames)")
      return
    }
    #expect(reason == "checksum of \"g\" is 67 but the packet says 68")
    #expect(frames.last == packet("g"))
  }

  @Test func aNonHexChecksumIsMalformed() {
    let frames = decode(Array("$g#6z".utf8), chunks: [])
    #expect(frames == [.malformed("checksum of \"g\" has a non-hex digit \"z\"")])
  }

  @Test func uppercaseChecksumDigitsAreAccepted() {
    #expect(decode(Array("$vMustReplyEmpty#3A".utf8), chunks: []) == [packet("vMustReplyEmpty")])
  }

  @Test func escapesAreUndone() {
    // X packet writing the bytes '#', '$', '}', '*' escaped as }03 }04 }5d }0a.
    let payload: [UInt8] = Array("X1000,4:".utf8) + [0x7d, 0x03, 0x7d, 0x04, 0x7d, 0x5d, 0x7d, 0x0a]
    let frames = decode(PacketEncoderTests.frame(payload), chunks: [])
    #expect(frames == [.packet(Array("X1000,4:#$}*".utf8))])
  }

  @Test func runLengthEncodingIsExpanded() {
    // "0* " is '0' then ' ' (32) - 29 = 3 more: "0000".
    let frames = decode(PacketEncoderTests.frame(Array("0* 1".utf8)), chunks: [])
    #expect(frames == [packet("00001")])
  }

  @Test func aRunLengthWithNothingToRepeatIsMalformed() {
    let frames = decode(PacketEncoderTests.frame(Array("* ".utf8)), chunks: [])
    #expect(frames == [.malformed("packet \"* \" has a run length '*' without a byte to repeat")])
  }

  @Test func aPacketCutOffByANewOneIsReportedAndTheNewOneDecodes() {
    let frames = decode(Array("$m10$g#67".utf8), chunks: [])
    #expect(frames == [.malformed("packet \"m10\" was cut off by a new '$' before its '#'"), packet("g")])
  }

  @Test func anOverlongPacketIsRefusedAndDecodingRecovers() {
    var decoder = PacketDecoder(maximumPacketSize: 4)
    // The '-' and '+' inside the refused packet are not taken for acks.
    #expect(decoder.feed(Array("$12-4+6#00".utf8)) == [.malformed("packet longer than 4 bytes")])
    #expect(decoder.feed(Array("$g#67".utf8)) == [packet("g")])
  }

  @Test func acksAreSentUntilNoAckModeStarts() {
    var decoder = PacketDecoder()
    #expect(!decoder.noAckMode)
    #expect(decoder.acknowledgement(for: packet("g")) == UInt8(ascii: "+"))
    #expect(decoder.acknowledgement(for: .malformed("bad checksum")) == UInt8(ascii: "-"))
    #expect(decoder.acknowledgement(for: .interrupt) == nil)
    #expect(decoder.acknowledgement(for: .ack) == nil)
    decoder.noAckMode = true
    // gdb acks the OK to QStartNoAckMode after switching; the frame is still reported.
    #expect(decoder.feed(Array("+$g#67".utf8)) == [.ack, packet("g")])
    #expect(decoder.acknowledgement(for: packet("g")) == nil)
    #expect(decoder.acknowledgement(for: .malformed("bad checksum")) == nil)
  }

  @Test func anInterruptByteInsideAPacketIsData() {
    let frames = decode(PacketEncoderTests.frame(Array("X0,1:".utf8) + [0x03]), chunks: [])
    #expect(frames == [.packet(Array("X0,1:".utf8) + [0x03])])
  }
}
