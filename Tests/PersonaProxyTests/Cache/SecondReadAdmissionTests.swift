import PersonaProxy
import Testing

/// Entries read from SQLite reach the memory tier on their second read, so reads spread over a
/// cache far larger than memory do not churn it, while a key read again soon is kept warm.
@Suite struct SecondReadAdmissionTests {
    @Test func aKeyIsAdmittedOnItsSecondReadNotItsFirst() {
        let admission = SecondReadAdmission(slots: 16)
        #expect(!admission.admit(42))
        #expect(admission.admit(42))
        // Admitted keys start afresh: the memory tier now holds it, a later read from SQLite means
        // it was evicted since.
        #expect(!admission.admit(42))
    }

    @Test func readsOfOtherKeysInBetweenForgetTheFirstRead() {
        let admission = SecondReadAdmission(slots: 16)
        #expect(!admission.admit(3))
        #expect(!admission.admit(3 + 16), "the same slot, another key")
        #expect(!admission.admit(3), "the first read was forgotten")
        #expect(admission.admit(3))
    }

    @Test func keysInDifferentSlotsDoNotDisturbEachOther() {
        let admission = SecondReadAdmission(slots: 16)
        for key in Int64(0)..<16 { #expect(!admission.admit(key * 7 + 1)) }
        for key in Int64(0)..<16 { #expect(admission.admit(key * 7 + 1)) }
    }
}
