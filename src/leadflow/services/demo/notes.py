"""Demo data: what people write in a form's message box or say on an intake call.

Patients and caregivers name conditions, medicines and procedures, and sometimes their own
name or number, as real messages do — so the demo shows intake the words as written and
marketing the same note with ``[condition]``, ``[medication]`` … in their place. The notes
come from a random stream of their own, so adding them changed no other demo value.
"""

from __future__ import annotations

import random

from leadflow.domain.profile import LeadProfile

PATIENT: dict[str, tuple[str, ...]] = {
    "cardiology": (
        "My cardiologist retired. I have atrial fibrillation and take Eliquis and metoprolol;"
        " I need a new doctor for follow-ups.",
        "Chest pain when I climb stairs, my GP wants a stress test and an echocardiogram.",
        "Mom ({first}) has high blood pressure and heart palpitations, looking for a consult."
        " Best number {phone}.",
        "Had a stent put in last year, on Plavix and Lipitor. Want a second opinion.",
    ),
    "dermatology": (
        "I have psoriasis on my elbows, methotrexate is not helping, can I try Humira?",
        "A mole on my back changed colour. Worried about melanoma, want a skin check.",
        "Teen son with cystic acne, tried tretinoin. Is Accutane an option?",
        "Eczema flare on my hands for weeks; steroid cream stopped working. {first} {last}",
    ),
    "orthopedics": (
        "Torn ACL skiing, the MRI is done. Need to talk about ACL reconstruction.",
        "Knee pain for months, osteoarthritis in both knees. Asking about knee replacement.",
        "Lower back pain and sciatica down my left leg; physical therapy did not help.",
        "My husband broke his wrist, the cast comes off next week. Call {phone} after 5.",
    ),
    "pulmonology": (
        "COPD, on Symbicort and albuterol, short of breath walking the dog.",
        "Chronic cough since the winter, my doctor found a lung nodule on the CT scan.",
        "Asthma getting worse, using my rescue inhaler every day. I'm {first}.",
        "Need pulmonary rehab after pneumonia, still on home oxygen.",
    ),
    "sleep_medicine": (
        "Loud snoring, my wife says I stop breathing at night. Probably sleep apnea?",
        "Diagnosed with obstructive sleep apnea, CPAP mask is uncomfortable, need a new fit.",
        "Insomnia for a year, Ambien makes me groggy. Want a sleep study.",
        "Restless legs every night, on gabapentin. Reach me at {email}.",
    ),
}
REFERRAL = (
    "Referring a patient with COPD exacerbations for pulmonary function tests.",
    "We send many patients with atrial fibrillation; need your intake requirements.",
    "Patient with suspected sleep apnea, please schedule a home sleep test.",
    "Looking for a dermatology partner for skin cancer screening referrals.",
)
B2B = (
    "We run 12 clinics and want to see how the scheduling integration works with our EHR.",
    "Interested in the patient intake module; who do we talk to about pricing and security?",
    "Evaluating vendors this quarter, please send the HIPAA documentation.",
)


def demo_note(rng: random.Random, profile: LeadProfile) -> str | None:
    """A message for ``profile``, or ``None`` (many leads write nothing)."""
    if profile.lead_type == "b2b":
        return rng.choice(B2B) if rng.random() < 0.4 else None
    if profile.lead_type == "referral_partner":
        return rng.choice(REFERRAL) if rng.random() < 0.5 else None
    if rng.random() >= 0.6:
        return None
    lines = PATIENT.get(profile.service_line or "", PATIENT["cardiology"])
    return rng.choice(lines).format(
        first=profile.first_name or "",
        last=profile.last_name or "",
        phone=_spaced(profile.phone) if profile.phone else "the number on file",
        email=profile.email or "my email",
    )


def _spaced(phone: str) -> str:
    """``+16175550142`` as a person writes it: ``(617) 555-0142``."""
    digits = phone.removeprefix("+1")
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if len(digits) == 10 else phone
