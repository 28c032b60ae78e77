import Testing

@testable import Replayer

@Suite struct ReplayPlaceTests {
  private func place(_ stage: ReplayPlace.Stage, rax: UInt64 = 1, stack: UInt64? = 7) -> ReplayPlace {
    var registers = Array(repeating: UInt64(0), count: 27)
    registers[10] = rax
    registers[18] = 0x246
    return ReplayPlace(eventIndex: 40, tid: 100, stage: stage, registers: registers, stack: stack, threadsLastEvent: 38)
  }

  @Test func arrivalsTellPlacesInCodeApartWhenBothAreCounted() {
    #expect(place(.code(rip: 0x1000, arrival: 2)).isSame(as: place(.code(rip: 0x1000, arrival: 2), rax: 9)))
    #expect(!place(.code(rip: 0x1000, arrival: 2)).isSame(as: place(.code(rip: 0x1000, arrival: 3))))
    #expect(!place(.code(rip: 0x1000, arrival: 2)).isSame(as: place(.code(rip: 0x1004, arrival: 2))))
  }

  @Test func withoutACountRegistersAndStackTellThem() {
    #expect(place(.code(rip: 0x1000, arrival: nil)).isSame(as: place(.code(rip: 0x1000, arrival: 4))))
    #expect(!place(.code(rip: 0x1000, arrival: nil)).isSame(as: place(.code(rip: 0x1000, arrival: 4), rax: 2)))
    // A loop whose counter lives in memory: same registers, another stack.
    #expect(!place(.code(rip: 0x1000, arrival: nil)).isSame(as: place(.code(rip: 0x1000, arrival: nil), stack: 8)))
  }

  @Test func theTrapAndResumeFlagsAreNoPartOfTheState() {
    var stepped = place(.code(rip: 0x1000, arrival: nil))
    stepped.registers[18] = 0x10346
    #expect(stepped.hasSameState(as: place(.code(rip: 0x1000, arrival: nil))))
  }

  @Test func placesAtAnEventAreTheirStage() {
    #expect(place(.syscallEntry).isSame(as: place(.syscallEntry, rax: 5)))
    #expect(!place(.syscallEntry).isSame(as: place(.syscallReturn)))
    var other = place(.syscallEntry)
    other.eventIndex = 41
    #expect(!place(.syscallEntry).isSame(as: other))
  }

  @Test func checkpointSpacingReadsEventsAndSeconds() {
    #expect(CheckpointSpacing("5000") == .events(5000))
    #expect(CheckpointSpacing("0") == .events(0))
    #expect(CheckpointSpacing("2s") == .seconds(2))
    #expect(CheckpointSpacing("500ms") == .seconds(0.5))
    #expect(CheckpointSpacing("fast") == nil)
    #expect(CheckpointSpacing("-3s") == nil)
    #expect(CheckpointSpacing("") == nil)
  }

  @Test func checkpointsAreTakenEveryIntervalOfEvents() {
    let store = CheckpointStore(spacing: .events(100), limit: 4)
    #expect(!store.wants(50))
    #expect(store.wants(100))
    #expect(store.wants(250))
    #expect(!CheckpointStore(spacing: .events(0), limit: 4).isEnabled)
  }
}
