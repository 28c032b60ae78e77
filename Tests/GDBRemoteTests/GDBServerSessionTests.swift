import Foundation
import Glibc
import Testing

@testable import GDBRemote

/// How sessions start, end and are interrupted: listening, a second client, ^C during
/// a resume, kill, detach and disconnect.
@Suite struct GDBServerSessionTests {
  let main = GDBServerTests.main

  @Test func aTakenPortIsReportedWithTheAddressAndReason() throws {
    let first = try GDBServer(target: GDBServerTests.makeTarget(), port: 0, log: { _ in })
    #expect(first.port != 0)
    #expect(throws: GDBServerError("cannot listen on 127.0.0.1:\(first.port): Address already in use")) {
      _ = try GDBServer(target: GDBServerTests.makeTarget(), port: first.port, log: { _ in })
    }
  }

  @Test func aSecondClientIsRefusedWhileTheFirstIsConnected() throws {
    let (server, client) = try GDBServerTests.connect(to: GDBServerTests.makeTarget())
    let intruder = try TestClient(port: server.port)
    #expect(intruder.isClosedByServer())
    #expect(server.log.waitForLine(containing: "refused a second gdb connection on port \(server.port): a client is already connected"))
    #expect(try client.request("?") == "T05thread:p1f.1f;")
  }

  @Test func aSecondClientIsRefusedDuringAResumeToo() throws {
    let target = GDBServerTests.makeTarget()
    target.blocksUntilInterrupted = true
    let (server, client) = try GDBServerTests.connect(to: target)
    client.send(packet: "c")
    #expect(target.resumeStarted.wait(timeout: .now() + 5) == .success)
    let intruder = try TestClient(port: server.port)
    #expect(intruder.isClosedByServer())
    client.send(raw: [0x03])
    #expect(try client.reply() == "T02thread:p1f.1f;")
  }

  @Test func controlCDuringAResumeInterruptsTheTargetAndLosesNoBytes() throws {
    let target = GDBServerTests.makeTarget()
    target.blocksUntilInterrupted = true
    let (_, client) = try GDBServerTests.connect(to: target)
    client.send(packet: "vCont;c")
    #expect(target.resumeStarted.wait(timeout: .now() + 5) == .success)
    // The packet behind the ^C is read by the watcher thread and must still be answered.
    client.send(raw: [0x03] + PacketEncoder.encode("qC"))
    #expect(try client.reply() == "T02thread:p1f.1f;")
    #expect(try client.reply() == "QCp1f.1f")
    #expect(target.interrupts == 1)
  }

  @Test func controlCRightBehindTheResumePacketStopsItAtOnce() throws {
    let target = GDBServerTests.makeTarget()
    target.blocksUntilInterrupted = true
    let (_, client) = try GDBServerTests.connect(to: target)
    // Without the ^C, the blocking resume would answer replaylog:end after 5 s.
    client.send(raw: PacketEncoder.encode("vCont;c") + [0x03])
    #expect(try client.reply() == "T02thread:p1f.1f;")
    #expect(target.resumes.isEmpty)
  }

  @Test func aNackGetsTheLastReplyAgain() throws {
    let (_, client) = try GDBServerTests.connect(to: GDBServerTests.makeTarget(), noAck: false)
    client.send(packet: "qC")
    #expect(try client.nextFrame() == .ack)
    #expect(try client.nextFrame() == .packet(Array("QCp1f.1f".utf8)))
    client.send(raw: Array("-".utf8))
    #expect(try client.nextFrame() == .packet(Array("QCp1f.1f".utf8)))
  }

  @Test func killEndsServe() throws {
    let target = GDBServerTests.makeTarget()
    let (server, client) = try GDBServerTests.connect(to: target)
    client.send(packet: "k")
    #expect(server.waitUntilServed())
    #expect(server.error == nil)
    #expect(target.killed)
    #expect(client.isClosedByServer())
  }

  @Test func vKillIsAnsweredAndEndsServe() throws {
    let target = GDBServerTests.makeTarget()
    let (server, client) = try GDBServerTests.connect(to: target)
    #expect(try client.request("vKill;1f") == "OK")
    #expect(server.waitUntilServed())
    #expect(target.killed)
    #expect(server.log.waitForLine(containing: "gdb session ended: gdb killed the target"))
  }

  @Test func detachIsAnsweredAndEndsServe() throws {
    let target = GDBServerTests.makeTarget()
    let (server, client) = try GDBServerTests.connect(to: target)
    #expect(try client.request("D;1f") == "OK")
    #expect(server.waitUntilServed())
    #expect(server.log.waitForLine(containing: "gdb session ended: gdb detached"))
  }

  @Test func aDisconnectEndsServeWithoutKilling() throws {
    let target = GDBServerTests.makeTarget()
    let (server, client) = try GDBServerTests.connect(to: target)
    #expect(try client.request("?") == "T05thread:p1f.1f;")
    client.disconnect()
    #expect(server.waitUntilServed())
    #expect(!target.killed)
    #expect(server.log.waitForLine(containing: "gdb session ended: gdb disconnected"))
  }

  @Test func aDisconnectDuringAResumeInterruptsIt() throws {
    let target = GDBServerTests.makeTarget()
    target.blocksUntilInterrupted = true
    let (server, client) = try GDBServerTests.connect(to: target)
    client.send(packet: "c")
    #expect(target.resumeStarted.wait(timeout: .now() + 5) == .success)
    client.disconnect()
    #expect(server.waitUntilServed())
    #expect(target.interrupts == 1)
  }
}
