import HallpassSampleApp

await SampleApp.main(profile: .tasks)
