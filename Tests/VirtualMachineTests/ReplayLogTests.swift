import Foundation
import Testing

@testable import VirtualMachine

/// Builds QEMU 7.2 replay logs byte by byte, as replay/replay-internal.c writes them.
struct LogBuilder {
  var bytes: [UInt8]

  init(version: UInt32 = ReplayLog.knownVersion) {
    bytes = []
    u32(version)
    u32(0)
    u32(0)
  }

  mutating func u8(_ value: UInt8) { bytes.append(value) }
  mutating func u32(_ value: UInt32) { for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) } }
  mutating func u64(_ value: UInt64) { u32(UInt32(value >> 32)); u32(UInt32(truncatingIfNeeded: value)) }
  mutating func array(_ data: [UInt8]) { u32(UInt32(data.count)); bytes += data }

  func write() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("replay-log-\(UUID().uuidString)").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }
}

@Suite struct ReplayLogTests {
  @Test func countsEveryKind() throws {
    var log = LogBuilder()
    log.u8(0); log.u32(1000)  // instructions
    log.u8(1)  // interrupt
    log.u8(2); log.u8(2)  // two exceptions
    log.u8(3); log.u64(7)  // bottom half
    log.u8(5); log.u32(0); log.u32(1); log.u32(30); log.u8(1)  // key (QKeyCode)
    log.u8(7); log.u8(0); log.array([1, 2, 3])  // character read, 3 bytes
    log.u8(8); log.u64(1)  // block request done
    log.u8(9); log.u8(0); log.u32(0); log.array([9, 9])  // network packet, 2 bytes
    log.u8(0); log.u32(500)
    log.u8(22); log.u32(5); log.u32(0)  // serial write of 5 bytes
    log.u8(27); log.u32(0); log.array([4, 4, 4, 4])  // random
    log.u8(28); log.u64(123)  // host clock
    log.u8(29); log.u64(456)  // virtual rt clock
    log.u8(30 + 7)  // checkpoint init
    log.u8(10 + 6)  // guest-shutdown
    log.u8(39)
    let parsed = try ReplayLog(path: try log.write())
    let s = parsed.statistics
    #expect(s.guestInstructions == 1500)
    #expect(s.instructionEvents == 2)
    #expect(s.interrupts == 1)
    #expect(s.exceptions == 2)
    #expect(s.bottomHalves == 1)
    #expect(s.inputEvents == 1)
    #expect(s.characterReads == 1 && s.characterReadBytes == 3)
    #expect(s.blockRequests == 1)
    #expect(s.networkPackets == 1 && s.networkBytes == 2)
    #expect(s.serialWrites == 1 && s.serialBytes == 5)
    #expect(s.randomReads == 1 && s.randomBytes == 4)
    #expect(s.hostClockReads == 1 && s.virtualRealTimeClockReads == 1)
    #expect(s.checkpoints == ["init": 1])
    #expect(s.shutdowns == ["guest-shutdown"])
    #expect(s.complete)
    #expect(s.events == 17)
    // The second instruction event is event 9: 1000 instructions in, one event replayed;
    // at 1500 all ten up to the second run.
    #expect(parsed.eventsReplayed(atInstruction: 0) == 0)
    #expect(parsed.eventsReplayed(atInstruction: 1000) == 1)
    #expect(parsed.eventsReplayed(atInstruction: 1500) == 10)
  }

  @Test func refusesAnotherVersion() throws {
    var log = LogBuilder(version: 0xe0200d)
    log.u8(39)
    let error = #expect(throws: VMError.self) { try ReplayLog(path: try log.write()) }
    #expect(error?.kind == .badTrace)
    #expect(error?.message.contains("0xe0200d") == true)
    #expect(error?.message.contains("0xe0200c") == true)
  }

  @Test func refusesALogWithoutVersion() throws {
    var log = LogBuilder(version: 0)
    log.u8(39)
    let error = #expect(throws: VMError.self) { try ReplayLog(path: try log.write()) }
    #expect(error?.message.contains("cut short") == true)
  }

  @Test func namesTheByteOfAnUnknownKind() throws {
    var log = LogBuilder()
    log.u8(0); log.u32(10)
    log.u8(200)
    let error = #expect(throws: VMError.self) { try ReplayLog(path: try log.write()) }
    #expect(error?.message.contains("byte 17") == true)
    #expect(error?.message.contains("unknown event kind 200") == true)
  }

  @Test func namesATruncatedEvent() throws {
    var log = LogBuilder()
    log.u8(28); log.u32(1)  // a clock value cut in half
    let error = #expect(throws: VMError.self) { try ReplayLog(path: try log.write()) }
    #expect(error?.message.contains("cut short") == true)
  }

  @Test func aLogWithoutEndIsIncomplete() throws {
    var log = LogBuilder()
    log.u8(0); log.u32(10)
    let parsed = try ReplayLog(path: try log.write())
    #expect(!parsed.statistics.complete)
    #expect(parsed.statistics.guestInstructions == 10)
  }
}

@Suite struct MachineConfigurationTests {
  @Test func parsesMemorySizes() throws {
    #expect(try MachineConfiguration.parseMemory("512M") == 512)
    #expect(try MachineConfiguration.parseMemory("1G") == 1024)
    #expect(try MachineConfiguration.parseMemory("1.5G") == 1536)
    #expect(try MachineConfiguration.parseMemory("256") == 256)
    for bad in ["", "12", "lots", "0.5M", "-1G", "100T"] {
      #expect(throws: VMError.self) { try MachineConfiguration.parseMemory(bad) }
    }
  }

  @Test func namesEachDifference() {
    let recorded = MachineConfiguration(memoryMiB: 512, append: "console=ttyS0", kernelHash: "a", initrdHash: nil, disk: nil)
    var now = recorded
    #expect(recorded.differences(from: now).isEmpty)
    now.memoryMiB = 1024
    now.append = "quiet"
    let differences = recorded.differences(from: now)
    #expect(differences.count == 2)
    #expect(differences.contains("memory: recorded 512M, now 1024M"))
  }

  @Test func recordAndReplayDescribeTheSameMachine() {
    let configuration = MachineConfiguration(memoryMiB: 256, append: "console=ttyS0", kernelHash: "a", initrdHash: "b", disk: nil)
    let files = QEMUCommandLine.Files(
      kernel: "/t/kernel", initrd: "/t/initrd", disk: nil, snapshots: "/t/s,1.qcow2", replayLog: "/t/replay.log", serial: "/t/serial.txt",
      qmpSocket: "/w/qmp")
    let record = QEMUCommandLine(configuration: configuration, mode: .record, files: files).arguments
    let replay = QEMUCommandLine(configuration: configuration, mode: .replay, files: files).arguments
    for arguments in [record, replay] {
      #expect(arguments.contains("apic-common.vapic=off"))
      #expect(arguments.contains("256M"))
      #expect(arguments.contains("pc,accel=tcg"))
      // A comma in a path is doubled, as QEMU's option syntax wants.
      #expect(arguments.contains("file=/t/s,,1.qcow2,if=none,id=rewind-snapshots,format=qcow2"))
    }
    #expect(record.contains("shift=auto,rr=record,rrfile=/t/replay.log,rrsnapshot=init"))
    #expect(replay.contains("shift=auto,rr=replay,rrfile=/t/replay.log,rrsnapshot=init"))
    // Apart from the mode, the two command lines are the same.
    #expect(record.count == replay.count)
    #expect(zip(record, replay).filter { $0 != $1 }.count == 1)
  }

  /// The NIC sends from a virtual-clock timer (QEMU 7.2's default bottom half runs outside
  /// the replay log); a trace recorded before that was chosen keeps its recorded NIC.
  @Test func theNetworkCardSendsOnTheReplayedClock() throws {
    let configuration = MachineConfiguration(memoryMiB: 256, append: "console=ttyS0", kernelHash: "a", initrdHash: nil, disk: nil, network: "user")
    let files = QEMUCommandLine.Files(
      kernel: "/t/kernel", initrd: nil, disk: nil, snapshots: "/t/s.qcow2", replayLog: "/t/replay.log", serial: "/t/serial.txt", qmpSocket: "/w/qmp")
    let arguments = QEMUCommandLine(configuration: configuration, mode: .replay, files: files).arguments
    let device = try #require(arguments.first { $0.hasPrefix("virtio-net-pci,") })
    #expect(device.split(separator: ",").contains("tx=timer"))
    #expect(device.split(separator: ",").contains("guest_announce=off"))
    // vm.json as the first network recordings wrote it: no networkDevice key.
    var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(configuration)) as! [String: Any]
    json.removeValue(forKey: "networkDevice")
    let older = try JSONDecoder().decode(MachineConfiguration.self, from: JSONSerialization.data(withJSONObject: json))
    let olderDevice = QEMUCommandLine(configuration: older, mode: .replay, files: files).arguments.first { $0.hasPrefix("virtio-net-pci,") }
    #expect(olderDevice == "virtio-net-pci,netdev=rewind-net,mac=52:54:00:12:34:56")
  }
}

/// The proxy's framing of gdb's remote protocol.
@Suite struct ReverseStepProxyFramingTests {
  @Test func splitsAcknowledgementsInterruptsAndPackets() {
    var buffer = Array("+$bs#d5\u{03}$m10,2#xx$g".utf8)
    var items: [String] = []
    while let (item, consumed) = ReverseStepProxy.nextItem(buffer) {
      items.append(String(decoding: item, as: UTF8.self))
      buffer.removeFirst(consumed)
    }
    #expect(items == ["+", "$bs#d5", "\u{03}", "$m10,2#xx"])
    // A packet whose end has not arrived yet stays in the buffer.
    #expect(String(decoding: buffer, as: UTF8.self) == "$g")
    #expect(ReverseStepProxy.payload(Array("$bs#d5".utf8)) == "bs")
  }

  @Test func anEscapedByteDoesNotEndAPacket() {
    // `}` escapes the next byte (here a `#` sent as `}` 0x03 would be; test a raw `}#`).
    let packet = Array("$X10,1:}#a#00".utf8)
    let (item, consumed) = ReverseStepProxy.nextItem(packet)!
    #expect(consumed == packet.count)
    #expect(item == packet)
  }
}
