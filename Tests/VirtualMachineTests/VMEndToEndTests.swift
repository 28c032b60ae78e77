import Foundation
import Testing

@testable import VirtualMachine

/// `rewind vm` end to end on the example guest: a Debian kernel and a busybox initramfs whose
/// /init prints random bytes, the date, a loop's result and /proc/interrupts, then powers off.
/// Serialized: each QEMU takes a core, and the machine has two.
@Suite(.serialized, .enabled(if: VMHarness.canRun, Comment(rawValue: VMHarness.skipMessage)))
struct VMEndToEndTests {
  /// Three recordings, each replayed with `vm replay -a`: the serial output (random bytes,
  /// date, interrupt counts) comes out byte for byte the same, and rewind says so.
  @Test func replaysTheSerialOutputExactly() throws {
    for pair in 1...3 {
      let (trace, record) = try VMHarness.record("pair\(pair)")
      try #require(record.status == 0, "recording \(pair) failed:\n\(record.summary)")
      let recorded = try String(contentsOfFile: trace + "/serial.txt", encoding: .utf8)
      // The guest really ran its /init: these lines vary from boot to boot.
      #expect(recorded.contains("rewind-guest: done"))
      #expect(recorded.contains("random: "))
      #expect(recorded.contains("LOC:"))
      let replay = try VMHarness.rewind(["vm", "replay", "-a", trace])
      #expect(replay.status == 0, "replay \(pair):\n\(replay.summary)")
      #expect(replay.stderr.contains("replay matched the recording"))
      // What the replay echoed is the recorded serial output, byte for byte.
      #expect(replay.stdout == recorded, "replay \(pair) echoed other serial output")
      #expect(VMHarness.qemuProcesses(mentioning: trace).isEmpty)
    }
  }

  /// A serial write event whose byte count is zeroed: QEMU replays the rest faithfully but
  /// leaves one byte out of the output; rewind reports the mismatch and exits 3.
  @Test func reportsADamagedSerialWrite() throws {
    let trace = try VMHarness.copyTrace(try VMHarness.sharedTrace(), label: "damaged-write")
    let log = try ReplayLog(path: trace + "/replay.log")
    let recorded = try String(contentsOfFile: trace + "/serial.txt", encoding: .utf8)
    // The write of the first byte of the "random: " line (each 8250 write is one byte).
    let lineStart = try #require(recorded.range(of: "random: ")).lowerBound
    let byteIndex = recorded.utf8.distance(from: recorded.utf8.startIndex, to: lineStart)
    try #require(log.serialWriteOffsets.count == recorded.utf8.count, "one write event a byte")
    let eventOffset = log.serialWriteOffsets[byteIndex]
    let handle = try #require(FileHandle(forUpdatingAtPath: trace + "/replay.log"))
    // Kind byte, u32 result, u32 offset: the offset (bytes QEMU writes out) becomes 0.
    try handle.seek(toOffset: UInt64(eventOffset + 5))
    handle.write(Data([0, 0, 0, 0]))
    try handle.close()
    let replay = try VMHarness.rewind(["vm", "replay", "-a", "-q", trace])
    #expect(replay.status == 3, "\(replay.summary)")
    #expect(replay.stderr.contains("did NOT match"))
    #expect(replay.stderr.contains("serial output differs from the recording's from byte \(byteIndex)"), "\(replay.summary)")
    #expect(VMHarness.qemuProcesses(mentioning: trace).isEmpty)
  }

  /// A log cut short in the middle (at an event boundary, so it still parses): QEMU pauses
  /// where the log ends; rewind reports where and exits 3 instead of waiting forever.
  @Test func reportsATruncatedLog() throws {
    let trace = try VMHarness.copyTrace(try VMHarness.sharedTrace(), label: "damaged-cut")
    let log = try ReplayLog(path: trace + "/replay.log")
    let middle = log.serialWriteOffsets[log.serialWriteOffsets.count / 2]
    try #require(truncate(trace + "/replay.log", off_t(middle)) == 0)
    let replay = try VMHarness.rewind(["vm", "replay", "-a", "-q", trace])
    #expect(replay.status == 3, "\(replay.summary)")
    #expect(replay.stderr.contains("the log ended before the guest did") || replay.stderr.contains("QEMU exited"), "\(replay.summary)")
    #expect(replay.stderr.contains("serial output differs"), "\(replay.summary)")
    #expect(VMHarness.qemuProcesses(mentioning: trace).isEmpty)
  }

  /// `vm stats` reads QEMU's log: the guest surely took interrupts and exceptions, read
  /// clocks and wrote to the serial port, and the counts agree with the trace.
  @Test func statsCountEachKind() throws {
    let trace = try VMHarness.sharedTrace()
    let run = try VMHarness.rewind(["vm", "stats", "--json", trace])
    try #require(run.status == 0, "\(run.summary)")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    func count(_ key: String) -> Int { (object[key] as? NSNumber)?.intValue ?? -1 }
    #expect(count("guestInstructions") > 100_000_000)
    #expect(count("interrupts") > 0)
    #expect(count("exceptions") > 0)
    #expect(count("hostClockReads") + count("virtualRealTimeClockReads") > 0)
    let serial = try #require(FileManager.default.attributesOfItem(atPath: trace + "/serial.txt")[.size] as? NSNumber)
    #expect(count("serialBytes") == serial.intValue)
    #expect(object["complete"] as? Bool == true)
    let table = try VMHarness.rewind(["vm", "stats", trace])
    for kind in ["interrupts", "exceptions", "clock reads", "I/O input", "disk", "network", "serial writes"] {
      #expect(table.stdout.contains(kind), "stats lacks \(kind):\n\(table.stdout)")
    }
  }

  /// Ten reverse-stepi land on the pcs of ten stepi, in reverse order, in the kernel's
  /// ksys_write (symbols from the example guest's System.map), with periodic snapshots.
  @Test func reverseStepiRetracesStepi() throws {
    let trace = try VMHarness.sharedTrace()
    let script = VMHarness.makeDirectory("gdb") + "/steps.gdb"
    var commands = ["set pagination off", "break ksys_write", "continue", "delete", "printf \"PC %lx\\n\", $pc"]
    commands += Array(repeating: ["stepi", "printf \"PC %lx\\n\", $pc"], count: 10).flatMap { $0 }
    commands += Array(repeating: ["reverse-stepi", "printf \"PC %lx\\n\", $pc"], count: 10).flatMap { $0 }
    try commands.joined(separator: "\n").write(toFile: script, atomically: true, encoding: .utf8)
    let run = try VMHarness.rewind([
      "vm", "replay", trace, "--symbols", VMHarness.guestDirectory + "/System.map", "--checkpoint-every", "400M", "--", "-batch", "-nx", "-x", script,
    ])
    #expect(run.status == 0, "\(run.summary)")
    let pcs = run.stdout.split(separator: "\n").filter { $0.hasPrefix("PC ") }.map { String($0.dropFirst(3)) }
    try #require(pcs.count == 21, "\(run.summary)")
    let forward = Array(pcs[0...10])
    let backward = Array(pcs[10...20])
    #expect(forward.first == addressOf("ksys_write"))
    #expect(Set(forward).count > 5, "the steps went somewhere: \(forward)")
    #expect(backward == forward.reversed(), "forward \(forward), backward \(backward)")
    #expect(VMHarness.qemuProcesses(mentioning: trace).isEmpty)
  }

  /// From the poweroff (kernel_power_off), reverse-continue to a breakpoint on ksys_write
  /// stops in ksys_write, and at its last call: continuing forward from there reaches the
  /// poweroff without another ksys_write. The symbols are the ones `vm record --symbols`
  /// kept in the trace.
  @Test func reverseContinueFindsTheLastCall() throws {
    let trace = try VMHarness.sharedTrace()
    let script = VMHarness.makeDirectory("gdb") + "/continue.gdb"
    try """
    set pagination off
    break kernel_power_off
    continue
    printf "AT %lx\\n", $pc
    break ksys_write
    reverse-continue
    printf "BACK %lx\\n", $pc
    continue
    printf "FORWARD %lx\\n", $pc
    """.write(toFile: script, atomically: true, encoding: .utf8)
    let run = try VMHarness.rewind(["vm", "replay", trace, "--checkpoint-every", "400M", "--", "-batch", "-nx", "-x", script])
    #expect(run.status == 0, "\(run.summary)")
    let lines = run.stdout.split(separator: "\n")
    let powerOff = addressOf("kernel_power_off")
    let write = addressOf("ksys_write")
    #expect(lines.contains("AT \(powerOff)"), "\(run.summary)")
    #expect(lines.contains("BACK \(write)"), "\(run.summary)")
    #expect(lines.contains("FORWARD \(powerOff)"), "\(run.summary)")
    #expect(VMHarness.qemuProcesses(mentioning: trace).isEmpty)
  }

  /// `continue` with no breakpoint stops at the end of the recording (just before the
  /// guest's poweroff) instead of letting QEMU exit, so there is a place to go back from:
  /// reverse-stepi there steps back through the kernel, and stepi comes forward again.
  @Test func continueStopsAtTheEndOfTheRecording() throws {
    let trace = try VMHarness.sharedTrace()
    let script = VMHarness.makeDirectory("gdb") + "/end.gdb"
    try """
    set pagination off
    continue
    printf "END %lx\\n", $pc
    reverse-stepi
    printf "BACK %lx\\n", $pc
    stepi
    printf "AGAIN %lx\\n", $pc
    """.write(toFile: script, atomically: true, encoding: .utf8)
    let run = try VMHarness.rewind(["vm", "replay", trace, "--", "-batch", "-nx", "-x", script])
    #expect(run.status == 0, "\(run.summary)")
    let values = Dictionary(
      run.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
        let fields = line.split(separator: " ")
        return fields.count == 2 && ["END", "BACK", "AGAIN"].contains(String(fields[0])) ? (String(fields[0]), String(fields[1])) : nil
      }, uniquingKeysWith: { first, _ in first })
    let end = try #require(values["END"], "\(run.summary)")
    #expect(end.hasPrefix("ffffffff8"), "stopped in the kernel: \(run.summary)")
    #expect(values["BACK"] != nil && values["BACK"] != end, "\(run.summary)")
    #expect(values["AGAIN"] == end, "\(run.summary)")
    #expect(VMHarness.qemuProcesses(mentioning: trace).isEmpty)
  }

  /// A network (QEMU's user-mode one, through filter-replay): the guest pings the gateway;
  /// the packets it received are in the log, and the replay prints the same ping output.
  @Test func recordsANetwork() throws {
    let (trace, record) = try VMHarness.record("net", extraArguments: ["--net"])
    try #require(record.status == 0, "\(record.summary)")
    // Replies need ICMP sockets on the host (slirp forwards the ping); the ARP answer from
    // QEMU itself is a received packet either way.
    #expect(record.stdout.contains("packets transmitted"), "\(record.summary)")
    let stats = try VMHarness.rewind(["vm", "stats", "--json", trace])
    let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
    #expect(((object["networkPackets"] as? NSNumber)?.intValue ?? 0) > 0, "\(stats.summary)")
    let replay = try VMHarness.rewind(["vm", "replay", "-a", trace])
    #expect(replay.status == 0, "\(replay.summary)")
    #expect(replay.stdout == record.stdout, "the replay printed other ping replies")
    // Replaying without the network would be another machine.
    let configuration = try String(contentsOfFile: trace + "/vm.json", encoding: .utf8)
    #expect(configuration.contains("\"network\" : \"user\""), "\(configuration)")
  }

  /// A disk through blkreplay: the guest reads its first sector and writes its second; the
  /// image given stays untouched (the write lands in the trace's overlay) and the replay
  /// matches. The trace, named in the trace directory, is listed by `rewind ls`; `rewind
  /// pack` copies the image in, after which changing the original does not matter, while
  /// before it the replay is refused; `rewind rm` deletes it.
  @Test func recordsADiskAndPacksIt() throws {
    let directory = VMHarness.makeDirectory("disk")
    let image = directory + "/disk.img"
    var contents = Data("hello from the disk".utf8)
    contents.append(Data(count: 4 << 20 - contents.count))
    try contents.write(to: URL(fileURLWithPath: image))
    let record = try VMHarness.rewind([
      "vm", "record", "--kernel", VMHarness.guestDirectory + "/bzImage", "--initrd", VMHarness.guestDirectory + "/rootfs.cpio.gz", "--disk", image,
    ])
    try #require(record.status == 0, "\(record.summary)")
    #expect(record.stdout.contains("disk: hello from the disk"), "\(record.summary)")
    #expect(record.stdout.contains("disk written"))
    #expect(try Data(contentsOf: URL(fileURLWithPath: image)) == contents, "the guest's write reached the image given")
    let list = try VMHarness.rewind(["ls"])
    let name = try #require(list.stdout.split(separator: "\n").compactMap { line -> String? in
      let fields = line.split(separator: " ")
      return fields.first { $0.hasPrefix("vm-") }.map(String.init)
    }.first, "\(list.summary)")
    #expect(list.stdout.contains("poweroff"), "\(list.summary)")

    // Changed under the overlay: refused.
    var changed = contents
    changed.replaceSubrange(0..<5, with: Data("HELLO".utf8))
    try changed.write(to: URL(fileURLWithPath: image))
    let refused = try VMHarness.rewind(["vm", "replay", "-a", name])
    #expect(refused.status == 2, "\(refused.summary)")
    #expect(refused.stderr.contains("changed since it was recorded"), "\(refused.summary)")

    // Packed from the original: the copy in the trace is what replays.
    try contents.write(to: URL(fileURLWithPath: image))
    let trace = VMHarness.runDirectory + "/traces/" + name
    let original = try #require(try FileManager.default.attributesOfItem(atPath: image)[.modificationDate] as? Date)
    let header = try String(contentsOfFile: trace + "/vm.json", encoding: .utf8)
    let recordedTime = try #require(header.split(separator: "\n").first { $0.contains("backingModified") })
    // Put the original's time back, as it was when recorded.
    let seconds = try #require(Double(recordedTime.split(separator: ":")[1].trimmingCharacters(in: CharacterSet(charactersIn: " ,"))))
    try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: seconds)], ofItemAtPath: image)
    #expect(original != Date(timeIntervalSince1970: seconds))
    let pack = try VMHarness.rewind(["pack", name])
    #expect(pack.status == 0, "\(pack.summary)")
    #expect(pack.stdout.contains("copied the disk image"), "\(pack.summary)")
    try changed.write(to: URL(fileURLWithPath: image))
    let replay = try VMHarness.rewind(["vm", "replay", "-a", name])
    #expect(replay.status == 0, "\(replay.summary)")
    #expect(replay.stdout.contains("disk: hello from the disk"), "\(replay.summary)")
    #expect(VMHarness.qemuProcesses(mentioning: name).isEmpty)

    let remove = try VMHarness.rewind(["rm", name])
    #expect(remove.status == 0, "\(remove.summary)")
    #expect(!FileManager.default.fileExists(atPath: trace))
  }

  /// The address of a kernel function in the example guest's System.map, in hex.
  private func addressOf(_ name: String) -> String {
    let map = (try? String(contentsOfFile: VMHarness.guestDirectory + "/System.map", encoding: .utf8)) ?? ""
    return map.split(separator: "\n").first { $0.hasSuffix(" " + name) && $0.split(separator: " ").count == 3 }.map { String($0.split(separator: " ")[0]) } ?? "?"
  }
}

/// What `rewind vm` refuses before starting QEMU: each refusal names the problem and exits
/// non-zero, and leaves no QEMU behind.
@Suite(.serialized, .enabled(if: VMHarness.canRun, Comment(rawValue: VMHarness.skipMessage)))
struct VMRefusalTests {
  @Test func refusesAnotherMemorySize() throws {
    let trace = try VMHarness.sharedTrace()
    let run = try VMHarness.rewind(["vm", "replay", "-a", trace, "--mem", "256M"])
    #expect(run.status == 64, "\(run.summary)")
    #expect(run.stderr.contains("memory: recorded 512M, now 256M"), "\(run.summary)")
    #expect(VMHarness.qemuProcesses(mentioning: trace).isEmpty)
  }

  @Test func refusesAnotherQEMUVersion() throws {
    let trace = try VMHarness.copyTrace(try VMHarness.sharedTrace(), label: "version")
    let header = trace + "/vm.json"
    let text = try String(contentsOfFile: header, encoding: .utf8)
    let changed = text.replacingOccurrences(of: "QEMU emulator version ", with: "QEMU emulator version 1")
    try #require(changed != text)
    try changed.write(toFile: header, atomically: true, encoding: .utf8)
    let run = try VMHarness.rewind(["vm", "replay", "-a", trace])
    #expect(run.status == 2, "\(run.summary)")
    #expect(run.stderr.contains("was recorded with QEMU emulator version 1"), "\(run.summary)")
  }

  @Test func refusesAChangedKernel() throws {
    let trace = try VMHarness.copyTrace(try VMHarness.sharedTrace(), label: "kernel")
    let handle = try #require(FileHandle(forUpdatingAtPath: trace + "/kernel"))
    try handle.seek(toOffset: 0x1000)
    handle.write(Data([0x90]))
    try handle.close()
    let run = try VMHarness.rewind(["vm", "replay", "-a", trace])
    #expect(run.status == 2, "\(run.summary)")
    #expect(run.stderr.contains("kernel in"), "\(run.summary)")
  }

  @Test func refusesAProgramTrace() throws {
    let directory = VMHarness.makeDirectory("not-vm")
    let run = try VMHarness.rewind(["vm", "stats", directory])
    #expect(run.status == 2, "\(run.summary)")
    #expect(run.stderr.contains("is not a VM trace"), "\(run.summary)")
  }

  @Test func refusesAMissingKernel() throws {
    let output = VMHarness.makeDirectory("missing") + "/trace"
    let run = try VMHarness.rewind(["vm", "record", "--kernel", "/nonexistent/bzImage", "-o", output])
    #expect(run.status == 64, "\(run.summary)")
    #expect(run.stderr.contains("--kernel /nonexistent/bzImage: no such file"), "\(run.summary)")
    #expect(!FileManager.default.fileExists(atPath: output))
  }
}

/// Without QEMU on the PATH, `rewind vm` says how to install it (needs nothing installed).
@Suite struct VMWithoutQEMUTests {
  @Test func namesTheSetupCommand() throws {
    let emptyBin = VMHarness.makeDirectory("empty-path")
    let run = try VMHarness.rewind(["vm", "stats", "--json", "x"], environment: ["PATH": emptyBin])
    // stats reads the trace only; replay and record need QEMU.
    let record = try VMHarness.rewind(["vm", "record", "--kernel", "/etc/hostname", "-o", emptyBin + "/t"], environment: ["PATH": emptyBin])
    #expect(record.status == 69, "\(record.summary)")
    #expect(record.stderr.contains("scripts/setup.sh --vm"), "\(record.summary)")
    let replay = try VMHarness.rewind(["vm", "replay", "-a", "x"], environment: ["PATH": emptyBin])
    #expect(replay.status == 69, "\(replay.summary)")
    #expect(replay.stderr.contains("scripts/setup.sh --vm"), "\(replay.summary)")
    #expect(run.status == 2, "\(run.summary)")
  }
}
