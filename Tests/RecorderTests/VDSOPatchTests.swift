import Foundation
import Glibc
import Testing

@testable import Recorder

/// `VDSOPatch` on this machine's own vDSO (the test process has one mapped, with the kernel's
/// code), and on images that are not one.
@Suite struct VDSOPatchTests {
  /// The [vdso] mapping of this process, read from its own memory.
  private func ownVDSO() throws -> (start: UInt64, image: [UInt8]) {
    // Read to its end: /proc files have no size for Foundation to go by.
    let maps = String(decoding: try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/maps")).readToEnd() ?? Data(), as: UTF8.self)
    let line = try #require(maps.split(separator: "\n").first { $0.hasSuffix("[vdso]") }, "no [vdso] in /proc/self/maps")
    let range = line.prefix { $0 != " " }.split(separator: "-").compactMap { UInt64($0, radix: 16) }
    try #require(range.count == 2)
    let pointer = try #require(UnsafeRawPointer(bitPattern: UInt(range[0])))
    return (range[0], Array(UnsafeRawBufferPointer(start: pointer, count: Int(range[1] - range[0]))))
  }

  /// Where the vDSO's `name` starts in the image, from the dynamic symbol the loader found
  /// for it (glibc's `dlvsym` does not search the vDSO; its auxv entry and `dladdr` do).
  private func offset(of name: String, start: UInt64) throws -> Int {
    // The loader's link map names the vDSO "linux-vdso.so.1".
    let vdso = try #require(dlopen("linux-vdso.so.1", RTLD_NOW | RTLD_NOLOAD), "the loader has no link map for the vDSO")
    defer { dlclose(vdso) }
    let symbol = try #require(dlsym(vdso, name), "the vDSO exports no \(name)")
    return Int(UInt64(UInt(bitPattern: symbol)) - start)
  }

  @Test func clockFunctionsBecomeTheirSystemCalls() throws {
    let (start, image) = try ownVDSO()
    let patched = try VDSOPatch.patched(image).get()
    #expect(patched.count == image.count)
    for (name, number) in [("__vdso_clock_gettime", 228), ("__vdso_gettimeofday", 96), ("__vdso_time", 201), ("__vdso_getcpu", 309)] {
      let at = try offset(of: name, start: start)
      let stub: [UInt8] = [0xB8, UInt8(number & 0xFF), UInt8(number >> 8), 0, 0, 0x0F, 0x05, 0xC3]
      #expect(Array(patched[at..<(at + 8)]) == stub, "\(name)")
      #expect(Array(image[at..<(at + 8)]) != stub, "\(name) was a system call already")
    }
    // Only function entries change: the ELF header and everything but 8-byte patches stay.
    #expect(patched[0..<64] == image[0..<64])
    let changed = zip(patched, image).filter { $0 != $1 }.count
    #expect(changed > 0 && changed <= 8 * 16, "\(changed) bytes changed")
  }

  /// The patched code runs: mapped executable, its time function asks the kernel.
  @Test func thePatchedTimeFunctionMakesTheSystemCall() throws {
    let (start, image) = try ownVDSO()
    let patched = try VDSOPatch.patched(image).get()
    let at = try offset(of: "__vdso_time", start: start)
    let page = mmap(nil, patched.count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    let memory = try #require(page == MAP_FAILED ? nil : page)
    defer { munmap(memory, patched.count) }
    patched.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: patched.count) }
    #expect(mprotect(memory, patched.count, PROT_READ | PROT_EXEC) == 0)
    typealias TimeFunction = @convention(c) (UnsafeMutablePointer<time_t>?) -> time_t
    let function = unsafeBitCast(memory.advanced(by: at), to: TimeFunction.self)
    var stored: time_t = 0
    let before = time(nil)
    let returned = function(&stored)
    #expect(returned == stored && returned >= before && returned <= time(nil))
  }

  @Test func imagesThatAreNotAVDSOAreRefused() throws {
    #expect(throws: VDSOPatch.Failure.self) { try VDSOPatch.patched([UInt8](repeating: 0, count: 8192)).get() }
    let (_, image) = try ownVDSO()
    // Cut before its section headers (at the end of the image): no symbol table is found.
    #expect(throws: VDSOPatch.Failure.self) { try VDSOPatch.patched(Array(image.prefix(64))).get() }
  }
}
