import Glibc
import Synchronization
import LinuxTrace
import TraceFormat

/// The reverse commands: each replays the recording again, from a checkpoint, to the place
/// it finds (`ReplayDebugger+Seek.swift`).
extension DebugReplay {
  /// Runs backwards: to the last stop a forward run from the start would have made before
  /// this place (`.continue`), or to the instruction before it (`.step`).
  public func reverse(_ how: DebugResume) -> Result<DebugStop, Error> {
    reverseInterrupted.store(false, ordering: .relaxed)
    guard let here = place() else { return .failure(ReplayError.setup("the replay has ended")) }
    do {
      switch how {
      case .continue: return .success(try reverseContinue(from: here))
      case .step(let tid): return .success(try reverseStep(from: here, thread: tid))
      }
    } catch let interrupted as ReverseInterrupted {
      return .success(interrupted.stop)
    } catch {
      // Back to where gdb was, so that the session can go on.
      _ = try? replayAgain(Seek(.reach, target: here))
      return .failure(error)
    }
  }

  /// Goes to `place`, which an earlier stop of this session reported (`monitor restart`).
  public func go(to place: ReplayPlace) -> Result<DebugStop, Error> {
    reverseInterrupted.store(false, ordering: .relaxed)
    let here = self.place()
    do { return .success(try reach(place, as: .signal(SIGTRAP, cause: nil))) } catch let interrupted as ReverseInterrupted {
      return .success(interrupted.stop)
    } catch {
      if let here { _ = try? replayAgain(Seek(.reach, target: here)) }
      return .failure(error)
    }
  }

  /// Writes every instruction the debugged process runs in events `from` up to `to` to
  /// `path`, one a line with its registers, then comes back here. Returns how many.
  public func logInstructions(from: UInt64, to: UInt64, path: String) -> Result<Int, Error> {
    reverseInterrupted.store(false, ordering: .relaxed)
    guard let here = place() else { return .failure(ReplayError.setup("the replay has ended")) }
    guard from < to else { return .failure(ReplayError.setup("the range \(from)-\(to) holds no event: FROM must be below TO")) }
    guard let file = fopen(path, "w") else {
      return .failure(ReplayError.setup("cannot write \(path): \(String(cString: strerror(errno)))"))
    }
    defer { fclose(file) }
    let seek = Seek(.log(from: from, to: to), target: nil)
    seek.log = file
    do {
      _ = try replayAgain(seek)
      _ = try replayAgain(Seek(.reach, target: here))
      return .success(seek.instructionsLogged)
    } catch let interrupted as ReverseInterrupted {
      _ = interrupted
      _ = try? replayAgain(Seek(.reach, target: here))
      return .failure(ReplayError.setup("interrupted after \(seek.instructionsLogged) instructions"))
    } catch {
      _ = try? replayAgain(Seek(.reach, target: here))
      return .failure(error)
    }
  }

  private func reverseContinue(from here: ReplayPlace) throws -> DebugStop {
    // From the latest checkpoint before here; when nothing stops there, from an earlier one
    // up to where that run began, going back twice as many checkpoints each time: the work
    // stays within about twice the distance to the stop found.
    var target = here
    var last: (place: ReplayPlace, kind: DebugStop.Kind)?
    var stride = 1
    while last == nil {
      let from = checkpoints.latest(before: target, skipping: stride - 1)
      let (_, seek) = try replayAgain(Seek(.note, target: target), from: .some(from))
      last = seek.noted.last
      guard let from, last == nil else { break }
      target = from.place
      stride *= 2
    }
    guard let last else { return try historyBegin() }
    if case .signal(_, .watchpoint?) = last.kind {
      // The trap came after the access; going backwards, gdb stops before it.
      guard let before = try previousInstruction(last.place) else { return try historyBegin() }
      return try reach(before, as: last.kind)
    }
    return try reach(last.place, as: last.kind)
  }

  private func reverseStep(from here: ReplayPlace, thread: Int32) throws -> DebugStop {
    guard let before = try previousInstruction(here) else { return try historyBegin() }
    return try reach(before, as: .signal(SIGTRAP, cause: nil))
  }

  /// The place of `place`'s thread one instruction earlier, found by single-stepping the
  /// thread through the code it ran before that place's event (or, at the first instruction
  /// it ran for it, through the code before its previous event); nil at the start of history.
  private func previousInstruction(_ place: ReplayPlace) throws -> ReplayPlace? {
    switch place.stage {
    case .beforeEvent, .exec, .processExit, .recordingEnd: break
    case .code(let rip, let counted):
      // Step from the arrival before this one at the same address (a loop's previous pass)
      // rather than from where the thread began running for the event; a place gdb
      // reached forwards has no count yet: a run to it counts.
      var arrival = counted
      if arrival == nil, lastLadder.map({ l in l.places.contains { $0.isSame(as: place) } }) != true {
        let counting = Seek(.reach, target: place)
        counting.countsArrival = true
        _ = try replayAgain(counting)
        if case .code(_, let found)? = self.place()?.stage { arrival = found }
      }
      let start = arrival.flatMap { $0 > 1 ? (rip: rip, arrival: $0 - 1) : nil }
      let places = try ladder(event: place.eventIndex, tid: place.tid, to: place, from: start)
      let end = places.firstIndex { $0.isSame(as: place) } ?? places.endIndex
      if let last = places[..<end].last(where: { !($0.rip == place.rip && $0.hasSameState(as: place)) }) { return last }
    case .syscallEntry, .syscallReturn, .signal, .threadExit:
      // A signal stops the thread before the instruction at its rip runs: the ladder can
      // start at that instruction's previous pass, as for a place in code, rather than
      // where the thread began running for the event (a crash after a long loop).
      var start: (rip: UInt64, arrival: Int)?
      if place.stage == .signal, lastLadder.map({ $0.event == place.eventIndex && $0.tid == place.tid }) != true {
        var twin = place
        twin.stage = .code(rip: place.rip, arrival: nil)
        let counting = Seek(.reach, target: twin)
        counting.countsArrival = true
        _ = try replayAgain(counting)
        if case .code(_, let found?)? = self.place()?.stage, found > 1 { start = (place.rip, found - 1) }
      }
      let places = try ladder(event: place.eventIndex, tid: place.tid, to: place, from: start)
      // (A signal's stop is where its code stopped: the place before that is the answer.)
      let end = places.firstIndex { $0.isSame(as: place) } ?? places.endIndex
      let earlier = places[..<end].filter { !($0.rip == place.rip && $0.hasSameState(as: place)) }
      if let last = earlier.last { return last }
    }
    guard let previousEvent = place.threadsLastEvent else { return nil }
    return try ladder(event: previousEvent, tid: place.tid, to: nil).last
  }

  /// The places of thread `tid`, one instruction apart, in the code it runs before event
  /// `event`, up to `place` (nil: to the end of that code), or further. The last ladder is
  /// kept: stepping backwards again and again walks down the same one.
  private func ladder(
    event: UInt64, tid: Int32, to place: ReplayPlace?, from start: (rip: UInt64, arrival: Int)? = nil
  ) throws -> [ReplayPlace] {
    if let last = lastLadder, last.event == event, last.tid == tid,
      place == nil ? last.complete : last.places.contains(where: { $0.isSame(as: place!) })
    {
      return last.places
    }
    let ladder = Seek(.ladder(event: event, tid: tid), target: place)
    ladder.ladderStart = start
    let (_, seek) = try replayAgain(ladder)
    var places = seek.noted.map(\.place)
    if let place, case .code = place.stage, let parked = self.place() { places.append(parked) }
    lastLadder = (event, tid, places, place == nil)
    return places
  }

  private func reach(_ place: ReplayPlace, as kind: DebugStop.Kind) throws -> DebugStop {
    let (stop, _) = try replayAgain(Seek(.reach, target: place))
    return DebugStop(kind: kind, pid: stop.pid, tid: stop.tid, eventIndex: stop.eventIndex)
  }

  /// Back at the first stop: gdb hears that there is no more history.
  private func historyBegin() throws -> DebugStop {
    let (stop, _) = try replayAgain(nil)
    return DebugStop(kind: .signal(SIGTRAP, cause: .historyBegin), pid: stop.pid, tid: stop.tid, eventIndex: stop.eventIndex)
  }
}

/// A ^C stopped a reverse command at this stop.
struct ReverseInterrupted: Error {
  let stop: DebugStop
}
