import HallpassSampleApp

await SampleApp.main(profile: .notes)
