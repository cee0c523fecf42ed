import HallpassSampleApp

await SampleApp.main(profile: .billing)
