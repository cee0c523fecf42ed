/// What makes one sample app look and feel like itself: its name (the default client id), its
/// title, colour, purpose and a little content. The OIDC and page code is shared.
public struct AppProfile: Sendable, Hashable {
    /// The app's name: the default `client_id`, the executable's suffix and the cookie prefix.
    public let name: String
    /// The title in the page header.
    public let title: String
    /// One line on what the app is for.
    public let purpose: String
    /// The main colour (CSS).
    public let colour: String
    /// The page background (CSS).
    public let background: String
    /// A symbol shown in the header.
    public let symbol: String
    /// The default port (CONTRACT section 2: 8401, 8402, 8403).
    public let defaultPort: Int
    /// What a signed-in user sees: a heading and a few items.
    public let contentHeading: String
    /// The items, each a (title, detail) pair.
    public let items: [Item]
    /// Made-up invoices shown at `/invoices` and `/api/invoices`, behind a second factor; an
    /// app with none has neither route.
    public var invoices: [Invoice] = []

    /// One item of content.
    public struct Item: Sendable, Hashable {
        /// The item's title.
        public let title: String
        /// A short detail.
        public let detail: String
    }

    /// One made-up invoice.
    public struct Invoice: Sendable, Hashable {
        /// The invoice number.
        public let number: String
        /// The date it was issued (ISO 8601).
        public let issued: String
        /// What it is for.
        public let item: String
        /// The amount, formatted.
        public let amount: String
        /// `paid`, `due` or `draft`.
        public let status: String
    }

    /// Hallpass Notes: a notebook.
    public static let notes = AppProfile(
        name: "notes", title: "Hallpass Notes", purpose: "Your notebook: jot things down, find them again.",
        colour: "#2f6fdb", background: "#eef3fc", symbol: "✎", defaultPort: 8401, contentHeading: "Recent notes",
        items: [
            Item(title: "Standup", detail: "Rotate the signing key after the release."),
            Item(title: "Ideas", detail: "A dark mode for the login page."),
            Item(title: "Groceries", detail: "Coffee, oat milk, lemons."),
        ])

    /// Hallpass Tasks: a to-do list.
    public static let tasks = AppProfile(
        name: "tasks", title: "Hallpass Tasks", purpose: "Your to-do list: what is next, what is done.",
        colour: "#1f8a4c", background: "#edf7f1", symbol: "✔", defaultPort: 8402, contentHeading: "Open tasks",
        items: [
            Item(title: "Review pull request", detail: "Due today"),
            Item(title: "Book the team offsite", detail: "Due Friday"),
            Item(title: "Renew TLS certificates", detail: "Due next week"),
        ])

    /// Hallpass Billing: invoices.
    public static let billing = AppProfile(
        name: "billing", title: "Hallpass Billing", purpose: "Your invoices and payments, in one place.",
        colour: "#b4541a", background: "#fbf1ea", symbol: "€", defaultPort: 8403, contentHeading: "Latest invoices",
        items: [
            Item(title: "INV-2026-0117", detail: "€ 1,240.00, paid"),
            Item(title: "INV-2026-0118", detail: "€ 310.50, due in 12 days"),
            Item(title: "INV-2026-0119", detail: "€ 89.00, draft"),
        ],
        invoices: [
            Invoice(number: "INV-2026-0117", issued: "2026-10-03", item: "Team plan, October", amount: "€ 1,240.00", status: "paid"),
            Invoice(number: "INV-2026-0118", issued: "2026-11-03", item: "Extra seats (5)", amount: "€ 310.50", status: "due"),
            Invoice(number: "INV-2026-0119", issued: "2026-11-28", item: "Support hours", amount: "€ 89.00", status: "draft"),
        ])

    /// The three sample apps.
    public static let all: [AppProfile] = [.notes, .tasks, .billing]
}
