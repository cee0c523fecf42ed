import HallpassRedis
import Testing
