import CCapstone
import LinuxTrace
import TraceFormat

extension MemoryGroupTracer {
  /// The memory part of a code point's signature (`CodePointMemory`): the values at the
  /// operands of the instructions around `registers.rip`, in the task's private memory.
  ///
  /// Left out, because replay could not see the same values there even at the right pass:
  /// memory shared with other processes or the kernel ([vvar], [vdso]), memory below the
  /// red zone (where signal frames come and go), and thread-local operands (`%fs:`).
  func codePointMemory(of task: RecordedTask, at registers: Registers) -> [CodePointMemory] {
    let rip = registers.rip
    let before: UInt64 = rip >= 256 ? 256 : 0
    guard let code = (try? task.tracee.readMemory(at: rip - before, count: 512)).map({ (rip - before, $0) })
      ?? (try? task.tracee.readMemory(at: rip, count: 64)).map({ (rip, $0) })
    else { return [] }
    let capacity = 8
    var addresses = [UInt64](repeating: 0, count: capacity)
    var sizes = [UInt8](repeating: 0, count: capacity)
    let count = code.1.withUnsafeBufferPointer { bytes in
      registers.words.withUnsafeBufferPointer { words in
        rewind_code_point_operands(
          bytes.baseAddress!, bytes.count, code.0, rip, words.baseAddress!, 12, &addresses, &sizes, Int32(capacity))
      }
    }
    guard count > 0, let maps = try? readMaps(of: task.tid) else { return [] }
    let redZoneEnd = registers.rsp &- 128
    var memory: [CodePointMemory] = []
    for i in 0..<Int(count) {
      let address = addresses[i]
      let size = UInt64(sizes[i])
      if address < redZoneEnd && address >= redZoneEnd &- 65536 { continue }
      guard
        let mapping = maps.first(where: { $0.start <= address && address + size <= $0.end }),
        mapping.permissions.hasPrefix("r"), mapping.permissions.hasSuffix("p"),
        !["[vvar]", "[vdso]", "[vsyscall]", "[vvar_vclock]"].contains(mapping.name),
        let value = try? task.tracee.readValue(at: address, size: Int(size))
      else { continue }
      memory.append(CodePointMemory(address: address, size: UInt8(size), value: value))
    }
    return memory
  }
}
