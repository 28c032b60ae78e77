import Foundation
import Testing

@testable import GDBRemote

/// The server loop over a real loopback TCP connection, against a `FakeTarget`: the
/// bytes a test sends are what gdb would send, and every reply is checked as framed.
@Suite struct GDBServerTests {
  static let main = ThreadID(pid: 0x1f, tid: 0x1f)
  static let second = ThreadID(pid: 0x1f, tid: 0x20)

  static func makeTarget() -> FakeTarget {
    FakeTarget(
      threads: [main, second],
      registerFiles: [main: RegisterFile(["rip": 0x401136, "rsp": 0x7fff_ffff_e3a0])],
      memory: [(start: 0x401136, bytes: [0x55, 0x48, 0x89, 0xe5])],
      script: [
        .signal(5, thread: main, cause: .softwareBreakpoint),
        .exited(status: 0, pid: 0x1f),
      ])
  }

  /// A server on `target` and a client connected to it, past the no-ack handshake
  /// unless `noAck` is false.
  static func connect(to target: any DebugTarget, noAck: Bool = true) throws -> (RunningServer, TestClient) {
    let server = try RunningServer(target: target)
    let client = try TestClient(port: server.port)
    if noAck {
      #expect(try client.request("QStartNoAckMode") == "OK")
      client.noAckMode = true
    }
    return (server, client)
  }

  @Test func handshakeAcksEachPacketUntilNoAckMode() throws {
    let (_, client) = try Self.connect(to: Self.makeTarget(), noAck: false)
    // request() fails unless '+' comes before each reply.
    let features = try client.request("qSupported:multiprocess+;swbreak+;xmlRegisters=i386")
    #expect(features.hasPrefix("PacketSize=4000;qXfer:features:read+"))
    #expect(features.hasSuffix("ReverseContinue+;ReverseStep+"))
    #expect(try client.request("vMustReplyEmpty") == "")
    #expect(try client.request("QStartNoAckMode") == "OK")
    client.noAckMode = true
    client.send(packet: "?")
    #expect(try client.nextFrame() == .packet(Array("T05thread:p1f.1f;".utf8)))
    // gdb's '+' for the OK may still come; it is not taken for anything.
    client.send(raw: Array("+".utf8))
    #expect(try client.request("qC") == "QCp1f.1f")
  }

  @Test func aBadChecksumIsNackedInAckModeAndAnsweredWithAnErrorAfter() throws {
    let (server, client) = try Self.connect(to: Self.makeTarget(), noAck: false)
    client.send(raw: Array("$?#00".utf8))
    #expect(try client.nextFrame() == .nack)
    #expect(try client.request("QStartNoAckMode") == "OK")
    client.noAckMode = true
    client.send(raw: Array("$?#00".utf8))
    #expect(try client.reply() == "E01")
    #expect(server.log.waitForLine(containing: "checksum of \"?\" is 3f but the packet says 00"))
    #expect(try client.request("?") == "T05thread:p1f.1f;")
  }

  @Test func aMalformedPacketGetsAnErrorAndTheSessionGoesOn() throws {
    let (server, client) = try Self.connect(to: Self.makeTarget())
    #expect(try client.request("m401136") == "E01")
    #expect(server.log.waitForLine(containing: "malformed 'm' packet \"m401136\": expected ',<length>'"))
    #expect(try client.request("m401136,1") == "55")
  }

  @Test func registersComeFromTheHgThread() throws {
    let target = Self.makeTarget()
    let (_, client) = try Self.connect(to: target)
    #expect(try client.request("g") == target.registerFiles[Self.main]!.wireForm)
    #expect(try client.request("p10") == "3611400000000000")  // rip is register 16
    #expect(try client.request("Hgp1f.20") == "OK")
    #expect(try client.request("p10") == "xxxxxxxxxxxxxxxx")
    #expect(try client.request("Hgp1f.99") == "E01")
    #expect(try client.request("Hg0") == "OK")
    #expect(try client.request("p10") == "3611400000000000")
    #expect(try client.request("p1000") == "E01")
  }

  @Test func memoryReadsGiveTheLongestReadablePrefix() throws {
    let (_, client) = try Self.connect(to: Self.makeTarget())
    #expect(try client.request("m401136,4") == "554889e5")
    #expect(try client.request("m401137,10") == "4889e5")
    #expect(try client.request("m401134,8") == "E01")
    #expect(try client.request("m0,1") == "E01")
  }

  @Test func aRefusedWriteIsAnErrorAndLogged() throws {
    let (server, client) = try Self.connect(to: Self.makeTarget())
    #expect(try client.request("M401136,1:cc") == "E01")
    #expect(
      server.log.waitForLine(
        containing: "gdb tried to write memory at 0x401136: refused: a replay cannot change memory outside a diversion"))
    // gdb 13 prints `E.` texts for register writes, so the reason reaches the user there too.
    #expect(try client.request("P0=0500000000000000") == "E.refused: a replay cannot change registers outside a diversion")
    #expect(server.log.waitForLine(containing: "gdb tried to write register rax: refused"))
    // gdb's probe for `X` support writes nothing and must not look refused.
    #expect(try client.request("X401136,0:") == "OK")
  }

  @Test func breakpointsAndSyscallCatchingReachTheTarget() throws {
    let target = Self.makeTarget()
    let (_, client) = try Self.connect(to: target)
    #expect(try client.request("Z0,401136,1") == "OK")
    #expect(try client.request("Z2,404028,4") == "OK")
    #expect(target.breakpoints == [Breakpoint(.software, address: 0x401136, size: 1), Breakpoint(.writeWatchpoint, address: 0x404028, size: 4)])
    #expect(try client.request("z0,401136,1") == "OK")
    #expect(target.breakpoints == [Breakpoint(.writeWatchpoint, address: 0x404028, size: 4)])
    #expect(try client.request("QCatchSyscalls:1;1;e7") == "OK")
    #expect(target.syscallCatch == .only([1, 0xe7]))
    #expect(try client.request("QCatchSyscalls:0") == "OK")
    #expect(target.syscallCatch == GDBRequest.SyscallCatch.none)
  }

  @Test func resumesAnswerWithTheStopAndServingGoesOnAfterTheExit() throws {
    let target = Self.makeTarget()
    let (_, client) = try Self.connect(to: target)
    #expect(try client.request("vCont?") == "vCont;c;C;s;S;t")
    #expect(try client.request("?") == "T05thread:p1f.1f;")
    #expect(try client.request("vCont;c:p1f.-1") == "T05thread:p1f.1f;swbreak:;")
    #expect(target.resumes.last?.0 == [ResumeAction(.continue, threads: ThreadSelector(process: .id(0x1f), thread: .all))])
    #expect(try client.request("?") == "T05thread:p1f.1f;swbreak:;")
    #expect(try client.request("c") == "W00;process:1f")
    #expect(try client.request("?") == "W00;process:1f")
    #expect(try client.request("qfThreadInfo") == "mp1f.1f,p1f.20")
    #expect(try client.request("bc") == "T05thread:p1f.1f;swbreak:;")
    #expect(target.resumes.last?.1 == .backward)
  }

  @Test func aFailedResumeIsAnErrorGDBPrints() throws {
    let target = Self.makeTarget()
    target.resumeFailure = TargetError("the replay diverged at event 12")
    let (server, client) = try Self.connect(to: target)
    // gdb 13 prints this as "warning: Remote failure reply: E.the replay diverged…".
    #expect(try client.request("vCont;c") == "E.the replay diverged at event 12")
    #expect(server.log.waitForLine(containing: "gdb tried to resume: the replay diverged at event 12"))
    #expect(try client.request("?") == "T05thread:p1f.1f;")
  }

  @Test func registerWritesOfTheWrongSizeAreErrors() throws {
    let (server, client) = try Self.connect(to: Self.makeTarget())
    #expect(try client.request("G0011") == "E01")
    #expect(server.log.waitForLine(containing: "gdb wrote 2 bytes of registers, but the x86-64 description has 816"))
    #expect(try client.request("P10=00") == "E01")
    #expect(server.log.waitForLine(containing: "gdb wrote 1 byte to rip, which has 8"))
    #expect(try client.request("P99=00") == "E01")
  }

  @Test func aForwardOnlyTargetOffersNoReverseExecution() throws {
    let fake = Self.makeTarget()
    let (_, client) = try Self.connect(to: ForwardOnlyTarget(fake))
    #expect(!(try client.request("qSupported")).contains("Reverse"))
    #expect(try client.request("bc") == "")
    #expect(try client.request("bs") == "")
    #expect(fake.resumes.isEmpty)
  }

  @Test func threadQueries() throws {
    let (_, client) = try Self.connect(to: Self.makeTarget())
    #expect(try client.request("qfThreadInfo") == "mp1f.1f,p1f.20")
    #expect(try client.request("qsThreadInfo") == "l")
    #expect(try client.request("qC") == "QCp1f.1f")
    #expect(try client.request("Tp1f.20") == "OK")
    #expect(try client.request("Tp1f.21") == "E01")
    #expect(try client.request("qAttached:1f") == "1")
    #expect(try client.request("QNonStop:0") == "OK")
    #expect(try client.request("QNonStop:1") == "E01")
    #expect(try client.request("qOffsets") == "")
    #expect(try client.request("qSymbol::") == "OK")
    #expect(try client.request("qTStatus") == "")
  }

  @Test func monitorOutputComesAsOPacketsThenOK() throws {
    let (server, client) = try Self.connect(to: Self.makeTarget())
    client.send(packet: "qRcmd," + hexString(Array("when".utf8)))
    #expect(try client.reply() == "O" + hexString(Array("Current event: 0\n".utf8)))
    #expect(try client.reply() == "OK")
    client.send(packet: "qRcmd," + hexString(Array("bogus".utf8)))
    let message = "unknown monitor command 'bogus'; try 'monitor help'"
    #expect(try client.reply() == "O" + hexString(Array((message + "\n").utf8)))
    #expect(try client.reply() == "E01")
    // gdb shows the message; the server's log stays quiet (front ends probe commands).
    #expect(try client.request("qRcmd," + hexString(Array("when".utf8))).hasPrefix("O"))
    _ = try client.reply()
    #expect(!server.log.lines.contains { $0.contains("bogus") }, "\(server.log.lines)")
  }

  @Test func longMonitorOutputIsSplitBetweenCharacters() {
    let text = String(repeating: "é", count: 700)  // 1,400 UTF-8 bytes
    let replies = GDBSession.consoleOutput(text)
    #expect(replies == [.consoleOutput(String(repeating: "é", count: 512)), .consoleOutput(String(repeating: "é", count: 188))])
  }

  @Test func targetDescriptionAuxvAndExecutableAreTransferredInChunks() throws {
    let target = Self.makeTarget()
    target.auxv = Array(0..<40)
    let (_, client) = try Self.connect(to: target)
    let xml = TargetDescription.xml
    #expect(try client.request("qXfer:features:read:target.xml:0,100") == "m" + xml.prefix(0x100))
    #expect(try client.request("qXfer:features:read:target.xml:\(String(xml.utf8.count - 4, radix: 16)),100") == "l" + xml.suffix(4))
    #expect(try client.request("qXfer:features:read:other.xml:0,100") == "E00")
    #expect(try client.request("qXfer:auxv:read::10,100") == "l" + String(decoding: target.auxv[16...], as: UTF8.self))
    #expect(try client.request("qXfer:exec-file:read:1f:0,1000") == "l/usr/bin/fake")
  }
}
