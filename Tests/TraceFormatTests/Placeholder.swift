import Testing

@Test func placeholderTraceFormatTests() { #expect(1 + 1 == 2) }
