import Foundation
import Testing

/// Threads of one process run one at a time while recording; replay reproduces the order
/// they took a mutex in, which differs from run to run.
@Suite struct ThreadTests {
  @Test(arguments: 1...5) func mutexAndConditionVariable(run: Int) throws {
    let result = try assertRecordReplay("threads_mutex")
    #expect(result.record.stdout.contains("counter 200\n"), "\(result.record.summary)")
    #expect(result.record.stdout.contains("consumed 40: "), "\(result.record.summary)")
    let processes = try Harness.ps(result.traceDir)
    #expect(processes.count == 1, "threads are not processes: \(processes)")
    let alone = try assertReplayProcess(result.traceDir, processes[0].pid)
    #expect(alone.stdout == result.record.stdout, "\(alone.summary)")
  }
}
