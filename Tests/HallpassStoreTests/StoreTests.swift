import Testing
@testable import HallpassStore
