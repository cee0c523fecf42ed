import Testing
import AsyncHTTPClient
@testable import HallpassHub
