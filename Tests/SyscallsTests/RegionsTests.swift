import Testing

@testable import Syscalls

func row(_ name: String) -> Syscall { SyscallTable.syscall(named: name)! }

func littleEndian(_ values: [UInt64]) -> [UInt8] {
  values.flatMap { value in (0..<8).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } }
}

let noMemory = MemorySnapshot(chunks: [])

@Suite struct WrittenRegionsTests {
  func written(_ name: String, _ arguments: [UInt64], _ result: Int64, _ memory: MemorySnapshot = noMemory)
    throws -> [MemoryRegion]
  {
    try row(name).writtenRegions(arguments: arguments, result: result, memory: memory)
  }

  @Test func readWritesTheBytesItReturned() throws {
    #expect(try written("read", [3, 0x1000, 4096], 1234) == [MemoryRegion(address: 0x1000, count: 1234)])
    #expect(try written("read", [3, 0x1000, 4096], 0) == [])
    #expect(try written("read", [3, 0x1000, 4096], -9) == [])
    #expect(try written("pread64", [3, 0x2000, 100, 7], 60) == [MemoryRegion(address: 0x2000, count: 60)])
    #expect(try written("getdents64", [3, 0x3000, 32768], 480) == [MemoryRegion(address: 0x3000, count: 480)])
  }

  @Test func returnedCountsNeverExceedTheBuffer() throws {
    // recvfrom with MSG_TRUNC returns the datagram's full length.
    let regions = try written("recvfrom", [3, 0x1000, 16, 0x20, 0, 0], 1500)
    #expect(regions == [MemoryRegion(address: 0x1000, count: 16)])
  }

  @Test func fixedStructures() throws {
    #expect(try written("fstat", [3, 0x1000], 0) == [MemoryRegion(address: 0x1000, count: 144)])
    #expect(try written("newfstatat", [0xffff_ff9c, 0x5000, 0x1000, 0], 0) == [MemoryRegion(address: 0x1000, count: 144)])
    #expect(try written("statx", [0xffff_ff9c, 0x5000, 0, 0xfff, 0x1000], 0) == [MemoryRegion(address: 0x1000, count: 256)])
    #expect(try written("pipe2", [0x1000, 0o2000000], 0) == [MemoryRegion(address: 0x1000, count: 8)])
    #expect(try written("uname", [0x1000], 0) == [MemoryRegion(address: 0x1000, count: 390)])
    #expect(try written("clock_gettime", [1, 0x1000], 0) == [MemoryRegion(address: 0x1000, count: 16)])
    #expect(try written("rt_sigaction", [2, 0x2000, 0x1000, 8], 0) == [MemoryRegion(address: 0x1000, count: 32)])
    #expect(try written("rt_sigprocmask", [2, 0x2000, 0x1000, 8], 0) == [MemoryRegion(address: 0x1000, count: 8)])
  }

  @Test func nullPointersProduceNoRegion() throws {
    #expect(try written("rt_sigaction", [2, 0x2000, 0, 8], 0) == [])
    #expect(try written("gettimeofday", [0x1000, 0], 0) == [MemoryRegion(address: 0x1000, count: 16)])
  }

  @Test func readvFillsTheIovecsInOrder() throws {
    let memory = MemorySnapshot(chunks: [(0x1000, littleEndian([0xa000, 10, 0xb000, 100, 0xc000, 50]))])
    let regions = try written("readv", [3, 0x1000, 3], 60, memory)
    #expect(regions == [MemoryRegion(address: 0xa000, count: 10), MemoryRegion(address: 0xb000, count: 50)])
  }

  @Test func recvmsgWritesDataNameAndLengths() throws {
    // msghdr: name 0x3000, namelen 16 (after the call), iov 0x1000, iovlen 1, control NULL.
    let header = littleEndian([0x3000, 16, 0x1000, 1, 0, 0, 0])
    let memory = MemorySnapshot(chunks: [
      (0x2000, header), (0x1000, littleEndian([0xa000, 4096])),
    ])
    let regions = try written("recvmsg", [3, 0x2000, 0], 200, memory)
    #expect(
      regions == [
        MemoryRegion(address: 0xa000, count: 200), MemoryRegion(address: 0x3000, count: 16),
        MemoryRegion(address: 0x2008, count: 4), MemoryRegion(address: 0x2028, count: 8),
        MemoryRegion(address: 0x2030, count: 4),
      ])
  }

  @Test func valueResultLengthsBoundSocketAddresses() throws {
    // accept4 stored a 16-byte sockaddr_in length at 0x2000.
    let memory = MemorySnapshot(chunks: [(0x2000, [16, 0, 0, 0])])
    #expect(
      try written("accept4", [3, 0x1000, 0x2000, 0o2000000], 5, memory)
        == [MemoryRegion(address: 0x1000, count: 16), MemoryRegion(address: 0x2000, count: 4)])
    #expect(
      try written("getsockopt", [3, 1, 4, 0x1000, 0x2000], 0, memory)
        == [MemoryRegion(address: 0x1000, count: 16), MemoryRegion(address: 0x2000, count: 4)])
  }

  @Test func selectRewritesItsSetsInWholeLongs() throws {
    #expect(
      try written("select", [70, 0x1000, 0, 0x2000, 0x3000], 1)
        == [
          MemoryRegion(address: 0x1000, count: 16), MemoryRegion(address: 0x2000, count: 16),
          MemoryRegion(address: 0x3000, count: 16),
        ])
  }

  @Test func wait4WritesStatusAndRusageOnlyForAChild() throws {
    #expect(
      try written("wait4", [UInt64(bitPattern: -1), 0x1000, 0, 0x2000], 1234)
        == [MemoryRegion(address: 0x1000, count: 4), MemoryRegion(address: 0x2000, count: 144)])
    #expect(try written("wait4", [UInt64(bitPattern: -1), 0x1000, 1, 0x2000], 0) == [])
  }

  @Test func nanosleepWritesTheRemainderOnlyWhenInterrupted() throws {
    #expect(try written("nanosleep", [0x1000, 0x2000], 0) == [])
    #expect(try written("nanosleep", [0x1000, 0x2000], -4) == [MemoryRegion(address: 0x2000, count: 16)])
  }

  /// The kernel writes each pollfd's revents back whatever the wait's outcome: an
  /// interrupted poll (restarted later through restart_syscall) wrote them too.
  @Test func pollWritesReventsEvenWhenInterrupted() throws {
    let revents = [MemoryRegion(address: 0x1006, count: 2), MemoryRegion(address: 0x100e, count: 2)]
    #expect(try written("poll", [0x1000, 2, 30000], 1) == revents)
    #expect(try written("poll", [0x1000, 2, 30000], -516) == revents)
    #expect(try written("poll", [0x1000, 2, 30000], -4) == revents)
    #expect(try written("poll", [0x1000, 2, 30000], -14) == [])  // EFAULT
    #expect(try written("ppoll", [0x1000, 2, 0x2000, 0, 8], -514) == [MemoryRegion(address: 0x2000, count: 16)] + revents)
  }

  @Test func ioctlRequests() throws {
    #expect(try written("ioctl", [0, 0x5401, 0x1000], 0) == [MemoryRegion(address: 0x1000, count: 36)])
    #expect(try written("ioctl", [1, 0x5413, 0x1000], 0) == [MemoryRegion(address: 0x1000, count: 8)])
    #expect(try written("ioctl", [3, 0x5451, 0], 0) == [])  // FIOCLEX
    #expect(try written("ioctl", [3, 0x5402, 0x1000], 0) == [])  // TCSETS
    // BLKGETSIZE64 through its _IOR encoding.
    #expect(try written("ioctl", [3, 0x8008_1272, 0x1000], 0) == [MemoryRegion(address: 0x1000, count: 8)])
    // A failed probe writes nothing, known or not.
    #expect(try written("ioctl", [3, 0x1234, 0x1000], -25) == [])
  }

  @Test func unknownIoctlThrowsWithItsDecoding() throws {
    let error = #expect(throws: SyscallTableError.self) {
      try written("ioctl", [4, 0x1234, 0x1000], 0)
    }
    #expect(error == .unknownIoctl(request: 0x1234, fd: 4))
    #expect(error?.description.contains("0x1234 _IOC(_IOC_NONE, 0x12, 0x34, 0x0)") == true)
  }

  @Test func unsupportedCallsThrow() {
    #expect(throws: SyscallTableError.self) {
      try written("ptrace", [0, 0, 0, 0], 0)
    }
  }
}

@Suite struct InputRegionsTests {
  @Test func openatCapturesThePathWithItsNul() throws {
    let path = Array("/etc/passwd".utf8) + [0]
    let memory = MemorySnapshot(chunks: [(0x5000, path)])
    let regions = try row("openat").inputRegions(
      arguments: [0xffff_ff9c, 0x5000, 0o2000000, 0], memory: memory)
    #expect(regions == [MemoryRegion(address: 0x5000, count: 12)])
  }

  @Test func writeCapturesItsBufferCapped() throws {
    let small = try row("write").inputRegions(arguments: [1, 0x1000, 6], memory: noMemory)
    #expect(small == [MemoryRegion(address: 0x1000, count: 6)])
    let large = try row("write").inputRegions(arguments: [1, 0x1000, 1 << 20], memory: noMemory)
    #expect(large == [MemoryRegion(address: 0x1000, count: 65536)])
  }

  @Test func writevCapturesTheArrayAndEachBuffer() throws {
    let memory = MemorySnapshot(chunks: [(0x1000, littleEndian([0xa000, 5, 0xb000, 7]))])
    let regions = try row("writev").inputRegions(arguments: [1, 0x1000, 2], memory: memory)
    #expect(
      regions == [
        MemoryRegion(address: 0x1000, count: 32), MemoryRegion(address: 0xa000, count: 5),
        MemoryRegion(address: 0xb000, count: 7),
      ])
  }

  @Test func unreadablePathsAreLeftOut() throws {
    let regions = try row("openat").inputRegions(arguments: [0xffff_ff9c, 0x5000, 0, 0], memory: noMemory)
    #expect(regions == [])
  }
}

@Suite struct MemorySnapshotTests {
  @Test func readsAcrossChunksAndLaterChunksWin() throws {
    let memory = MemorySnapshot(chunks: [(0x10, [1, 2, 3, 4]), (0x14, [5, 6]), (0x11, [9])])
    #expect(try memory.readBytes(at: 0x10, count: 6) == [1, 9, 3, 4, 5, 6])
    #expect(throws: MemoryNotCaptured.self) { try memory.readBytes(at: 0x12, count: 8) }
  }
}
