import Testing

@testable import GDBRemote

@Suite struct GDBReplyTests {
  let thread = ThreadID(pid: 0x1f, tid: 0x1f)

  func text(_ reply: GDBReply) -> String { String(decoding: reply.payload, as: UTF8.self) }

  @Test func simpleReplies() {
    #expect(text(.ok) == "OK")
    #expect(text(.error(1)) == "E01")
    #expect(text(.error(0x16)) == "E16")
    #expect(GDBReply.empty.payload.isEmpty)
    #expect(text(.memory([0x55, 0x48, 0x89, 0xe5])) == "554889e5")
    #expect(text(.register([0x36, 0x11, 0x40, 0, 0, 0, 0, 0], size: 8)) == "3611400000000000")
    #expect(text(.register(nil, size: 4)) == "xxxxxxxx")
    #expect(text(.resumeActions) == "vCont;c;C;s;S;t")
    #expect(text(.currentThread(thread)) == "QCp1f.1f")
    #expect(text(.threadList([thread, ThreadID(pid: 0x1f, tid: 0x20)])) == "mp1f.1f,p1f.20")
    #expect(text(.threadList([])) == "l")
    #expect(text(.consoleOutput("event 12\n")) == "O6576656e742031320a")
  }

  @Test func stopReplies() {
    #expect(text(.stop(.signal(5, thread: thread))) == "T05thread:p1f.1f;")
    #expect(text(.stop(.signal(5, thread: thread, cause: .softwareBreakpoint))) == "T05thread:p1f.1f;swbreak:;")
    #expect(text(.stop(.signal(5, thread: thread, cause: .hardwareBreakpoint))) == "T05thread:p1f.1f;hwbreak:;")
    #expect(
      text(.stop(.signal(5, thread: thread, cause: .watchpoint(.writeWatchpoint, address: 0x404028))))
        == "T05thread:p1f.1f;watch:404028;")
    #expect(
      text(.stop(.signal(5, thread: thread, cause: .watchpoint(.readWatchpoint, address: 0x404028))))
        == "T05thread:p1f.1f;rwatch:404028;")
    #expect(
      text(.stop(.signal(5, thread: thread, cause: .watchpoint(.accessWatchpoint, address: 0x10))))
        == "T05thread:p1f.1f;awatch:10;")
    #expect(text(.stop(.signal(5, thread: thread, cause: .syscallEntry(1)))) == "T05thread:p1f.1f;syscall_entry:1;")
    #expect(text(.stop(.signal(5, thread: thread, cause: .syscallReturn(0x3c)))) == "T05thread:p1f.1f;syscall_return:3c;")
    #expect(text(.stop(.signal(5, thread: thread, cause: .historyBegin))) == "T05thread:p1f.1f;replaylog:begin;")
    #expect(text(.stop(.signal(11, thread: ThreadID(pid: 0x3a2b, tid: 0x3a2c)))) == "T0bthread:p3a2b.3a2c;")
    #expect(text(.stop(.exited(status: 0, pid: 0x1f))) == "W00;process:1f")
    #expect(text(.stop(.exited(status: 3, pid: 0x1f))) == "W03;process:1f")
    #expect(text(.stop(.killed(signal: 11, pid: 0x1f))) == "X0b;process:1f")
    #expect(text(.stop(.signal(5, thread: thread, cause: .exec(path: "/bin/ls")))) == "T05thread:p1f.1f;exec:2f62696e2f6c73;")
  }

  @Test func supportedAdvertisesReverseOnlyForAReversibleTarget() {
    let common =
      "PacketSize=4000;qXfer:features:read+;qXfer:auxv:read+;qXfer:exec-file:read+;vContSupported+;QStartNoAckMode+;multiprocess+;swbreak+;hwbreak+;QCatchSyscalls+;exec-events+"
    #expect(text(.supported(packetSize: 0x4000, reversible: true)) == common + ";ReverseContinue+;ReverseStep+")
    #expect(text(.supported(packetSize: 0x4000, reversible: false)) == common)
  }

  @Test func transferChunksAreSlicedAndEscapedByTheEncoder() {
    let object: [UInt8] = Array("ab$#}*cd".utf8)
    #expect(GDBReply.transfer(object, offset: 0, length: 4) == .transferChunk(Array("ab$#".utf8), isLast: false))
    #expect(GDBReply.transfer(object, offset: 4, length: 100) == .transferChunk(Array("}*cd".utf8), isLast: true))
    #expect(GDBReply.transfer(object, offset: 8, length: 100) == .transferChunk([], isLast: true))
    #expect(GDBReply.transfer(object, offset: 50, length: 1) == .transferChunk([], isLast: true))
    let framed = PacketEncoder.encode(GDBReply.transfer(object, offset: 0, length: 4).payload)
    #expect(framed == PacketEncoderTests.frame(Array("mab}\u{04}}\u{03}".utf8)))
  }

  @Test func fileResults() {
    #expect(text(.file(result: 5)) == "F5")
    #expect(text(.file(result: -1, errno: 2)) == "F-1,2")
    #expect(GDBReply.file(result: 3, attachment: [0x7f, 0x45, 0x4c]).payload == Array("F3;".utf8) + [0x7f, 0x45, 0x4c])
  }
}
