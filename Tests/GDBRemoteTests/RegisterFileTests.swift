import Testing

@testable import GDBRemote

@Suite struct RegisterFileTests {
  @Test func numberingIsGdbserversForX86_64Linux() {
    let names = X86_64Register.all.map(\.name)
    #expect(names.count == 76)
    #expect(names.prefix(8) == ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp"])
    #expect(X86_64Register.byName["rip"]?.number == 16)
    #expect(X86_64Register.byName["eflags"]?.number == 17)
    #expect(X86_64Register.byName["gs"]?.number == 23)
    #expect(X86_64Register.byName["st0"]?.number == 24)
    #expect(X86_64Register.byName["fop"]?.number == 39)
    #expect(X86_64Register.byName["xmm0"]?.number == 40)
    #expect(X86_64Register.byName["mxcsr"]?.number == 56)
    #expect(X86_64Register.orig_rax.number == 57)
    #expect(X86_64Register.fs_base.number == 58)
    #expect(X86_64Register.gs_base.number == 59)
    #expect(X86_64Register.byName["ymm0h"]?.number == 60)
    #expect(X86_64Register.byName["ymm15h"]?.number == 75)
    #expect(X86_64Register.all.reduce(0) { $0 + $1.byteSize } == 560 + 16 * 16)
  }

  @Test func aGReplyFromNamedValuesMarksTheRestUnavailable() {
    let file = RegisterFile(["rax": 0x1c, "rip": 0x401136, "eflags": 0x246, "fs_base": 0x7fff_f7d8_a740])
    let wire = file.wireForm
    #expect(wire.count == (560 + 256) * 2)
    #expect(wire.hasPrefix("1c00000000000000" + String(repeating: "x", count: 16 * 15)))
    // rip starts after 16 eight-byte registers, eflags after it is four bytes.
    let rip = wire.dropFirst(16 * 16).prefix(16 + 8)
    #expect(rip == "3611400000000000" + "46020000")
    let fsBase = wire.dropFirst(2 * (560 - 16)).prefix(16)
    #expect(fsBase == "40a7d8f7ff7f0000")
    #expect(file["rip"] == 0x401136)
    #expect(file["rbx"] == nil)
  }

  @Test func aGReplyFromAnArrayFollowsGdbOrder() {
    let file = RegisterFile((0..<18).map { UInt64($0) })
    #expect(file["rbx"] == 1)
    #expect(file["rip"] == 16)
    #expect(file["eflags"] == 17)
    #expect(file["cs"] == nil)
  }

  @Test func wideRegistersHoldTheirFullWidth() {
    var file = RegisterFile()
    file[bytes: X86_64Register.byName["xmm0"]!] = Array(0..<16)
    file["st0"] = 1
    #expect(file[bytes: X86_64Register.byName["st0"]!] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    #expect(file.wireForm.contains("000102030405060708090a0b0c0d0e0f"))
  }

  @Test func aGPacketRoundTrips() throws {
    let file = RegisterFile(X86_64Register.all.indices.map { UInt64($0) * 0x0101 })
    guard case .writeRegisters(let bytes) = try GDBRequest(parsing: Substring("G" + file.wireForm)) else {
      Issue.record("not a G packet")
      return
    }
    #expect(RegisterFile(wireBytes: bytes) == file)
    #expect(RegisterFile(wireBytes: Array(bytes.dropLast())) == nil)
  }

  @Test func theTargetDescriptionNamesEveryRegisterWithItsNumber() {
    let xml = TargetDescription.xml
    #expect(xml.contains("<architecture>i386:x86-64</architecture>"))
    #expect(xml.contains("<feature name=\"org.gnu.gdb.i386.core\">"))
    #expect(xml.contains("<feature name=\"org.gnu.gdb.i386.linux\">"))
    #expect(xml.contains("<reg name=\"orig_rax\" bitsize=\"64\" type=\"int\" regnum=\"57\"/>"))
    #expect(xml.contains("<reg name=\"fs_base\" bitsize=\"64\" type=\"int\" regnum=\"58\"/>"))
    #expect(xml.contains("<reg name=\"gs_base\" bitsize=\"64\" type=\"int\" regnum=\"59\"/>"))
    #expect(xml.contains("<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\" regnum=\"16\"/>"))
    for register in X86_64Register.all {
      #expect(xml.contains("<reg name=\"\(register.name)\" bitsize=\"\(register.bitSize)\""))
    }
    // core, sse, linux, segments, avx
    #expect(xml.split(separator: "<feature ").count == 6)
    #expect(xml.split(separator: "</feature>").count == 6)
    #expect(xml.contains("<feature name=\"org.gnu.gdb.i386.avx\">"))
    #expect(xml.contains("<reg name=\"ymm15h\" bitsize=\"128\" type=\"uint128\" regnum=\"75\"/>"))
  }
}
