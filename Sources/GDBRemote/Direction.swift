/// Which way execution runs; `bc` and `bs` run backward through the recording.
public enum Direction: Hashable, Sendable {
  case forward
  case backward
}
