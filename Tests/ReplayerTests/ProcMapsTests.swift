import Glibc
import LinuxTrace
import Testing

/// /proc/PID/maps lines, parsed byte by byte (replay reads them at every code point).
@Suite struct ProcMapsTests {
  @Test func aFileMappingWithItsName() throws {
    let entry = try #require(MapsEntry(line: "7ffff7fc3000-7ffff7fc5000 r-xp 0001a000 fd:00 1234                       /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"))
    #expect(entry.start == 0x7fff_f7fc_3000 && entry.end == 0x7fff_f7fc_5000)
    #expect(entry.permissions == "r-xp" && entry.offset == 0x1a000 && entry.device == "fd:00" && entry.inode == 1234)
    #expect(entry.name == "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" && entry.isFileBacked)
  }

  @Test func anonymousAndSpecialMappings() throws {
    let anonymous = try #require(MapsEntry(line: "555555559000-55555557a000 rw-p 00000000 00:00 0 "))
    #expect(anonymous.name == "" && !anonymous.isFileBacked)
    let stack = try #require(MapsEntry(line: "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]"))
    #expect(stack.name == "[stack]")
    let spaced = try #require(MapsEntry(line: "1000-2000 r--p 00000000 08:01 77   /tmp/a file with spaces"))
    #expect(spaced.name == "/tmp/a file with spaces")
  }

  @Test func malformedLinesAreRejected() {
    #expect(MapsEntry(line: "") == nil)
    #expect(MapsEntry(line: "zz-2000 r--p 0 00:00 0") == nil)
    #expect(MapsEntry(line: "1000-2000 r--p 00000000") == nil)
    #expect(MapsEntry(line: "10000000000000000-2000 r--p 0 00:00 0") == nil)
  }

  /// Our own maps parse whole and in order, and include this code.
  @Test func thisProcessesMaps() throws {
    let maps = try readMaps(of: getpid())
    #expect(maps.count > 5)
    #expect(zip(maps, maps.dropFirst()).allSatisfy { $0.end <= $1.start })
    let here = UInt64(UInt(bitPattern: unsafeBitCast(getpid as @convention(c) () -> pid_t, to: UnsafeRawPointer.self)))
    #expect(maps.contains { $0.start <= here && here < $0.end && $0.permissions.contains("x") })
  }
}
