package demo

// This file is data, not code: the clinical catalogue the generator draws
// from. Condition codes are SNOMED CT concept ids with their preferred terms;
// observation codes are LOINC with UCUM units; medicines are named and dosed
// as a UK prescription would be.

// medicine is one line of a prescription.
type medicine struct {
	Name, Dose, Frequency, Route string
}

// conditionDef is a condition the generator can give a person, with what
// usually comes with it.
type conditionDef struct {
	Code    string // SNOMED CT concept id
	Display string // SNOMED CT preferred term
	Weight  int    // relative prevalence among people receiving home care
	// OnsetYears bounds how long ago it began (0: up to 30 years).
	OnsetYears int
	// Resolvable conditions are episodes (an infection, an ulcer) that are
	// often resolved by now.
	Resolvable bool
	Medicines  []medicine
	Goals      []string // care plan goals it adds
	Activities []string // care plan activities it adds
	// Nursing, when set, makes a person with this condition a patient of
	// the community nursing team, who visit for it.
	Nursing *nursingNeed
	// Observes are the observations that are taken because of it (keys of
	// observationDefs).
	Observes []string
}

var conditionDefs = []conditionDef{
	{Code: "38341003", Display: "Hypertensive disorder", Weight: 30,
		Medicines: []medicine{{"Ramipril", "5 mg", "once daily", "oral"}, {"Amlodipine", "5 mg", "once daily", "oral"}},
		Observes:  []string{"bp"}},
	{Code: "44054006", Display: "Type 2 diabetes mellitus", Weight: 20,
		Medicines:  []medicine{{"Metformin", "500 mg", "twice daily with meals", "oral"}, {"Gliclazide", "80 mg", "once daily with breakfast", "oral"}},
		Goals:      []string{"Keep blood glucose within the range agreed with the GP (4–10 mmol/L)"},
		Activities: []string{"Offer regular meals and snacks; encourage a low-sugar diet", "Check feet for redness or broken skin when assisting with washing"},
		Observes:   []string{"glucose"}},
	{Code: "46635009", Display: "Type 1 diabetes mellitus", Weight: 2,
		Medicines:  []medicine{{"Insulin glargine", "18 units", "once daily at 22:00", "subcutaneous"}, {"Insulin aspart", "4–8 units according to chart", "three times daily with meals", "subcutaneous"}},
		Goals:      []string{"Avoid hypoglycaemia and keep blood glucose between 5 and 10 mmol/L"},
		Activities: []string{"Nurse to administer insulin and record blood glucose", "Carers to treat low blood glucose (below 4 mmol/L) with the hypo box and call the nursing team"},
		Nursing: &nursingNeed{"Administer insulin and check blood glucose", 1, 2, 30,
			"Insulin administered as per chart. Pre-meal blood glucose recorded. {name} eating well; no hypos reported by carers this week."},
		Observes: []string{"glucose"}},
	{Code: "49436004", Display: "Atrial fibrillation", Weight: 12, OnsetYears: 15,
		Medicines:  []medicine{{"Apixaban", "5 mg", "twice daily", "oral"}, {"Bisoprolol", "2.5 mg", "once daily", "oral"}},
		Activities: []string{"Report any unusual bruising, bleeding or black stools to the office (takes an anticoagulant)"},
		Observes:   []string{"bp", "pulse"}},
	{Code: "13645005", Display: "Chronic obstructive pulmonary disease", Weight: 12, OnsetYears: 20,
		Medicines:  []medicine{{"Salbutamol 100 micrograms/dose inhaler", "2 puffs", "when required, up to four times daily", "inhaled"}, {"Tiotropium 2.5 micrograms/dose inhaler", "2 puffs", "once daily", "inhaled"}},
		Goals:      []string{"Manage breathlessness so they can move around the home"},
		Activities: []string{"Pace personal care with rest breaks; sit to wash", "Check inhalers are within reach and in date"},
		Observes:   []string{"spo2", "pulse", "temp"}},
	{Code: "52448006", Display: "Dementia", Weight: 18, OnsetYears: 8,
		Medicines:  []medicine{{"Donepezil", "10 mg", "once daily at night", "oral"}},
		Goals:      []string{"Stay living safely at home for as long as they wish", "Keep to a familiar daily routine"},
		Activities: []string{"Introduce yourself at every visit and explain what you are doing", "Use the memory board in the kitchen to show the day and date", "Check the cooker is off and doors are locked when leaving"}},
	{Code: "26929004", Display: "Alzheimer's disease", Weight: 6, OnsetYears: 8,
		Medicines:  []medicine{{"Memantine", "10 mg", "once daily", "oral"}},
		Goals:      []string{"Stay living safely at home for as long as they wish"},
		Activities: []string{"Offer simple choices, one at a time", "Record mood and any distress in the daily notes"}},
	{Code: "84114007", Display: "Heart failure", Weight: 10, OnsetYears: 10,
		Medicines:  []medicine{{"Furosemide", "40 mg", "once daily in the morning", "oral"}, {"Bisoprolol", "2.5 mg", "once daily", "oral"}},
		Goals:      []string{"Notice early signs of fluid build-up so treatment can be adjusted"},
		Activities: []string{"Weigh every Monday morning before breakfast and record", "Report ankle swelling or new breathlessness to the nursing team"},
		Observes:   []string{"weight", "bp", "pulse"}},
	{Code: "69896004", Display: "Rheumatoid arthritis", Weight: 5,
		Medicines:  []medicine{{"Methotrexate", "15 mg", "once weekly on Mondays", "oral"}, {"Folic acid", "5 mg", "once weekly on Thursdays", "oral"}},
		Activities: []string{"Offer help with buttons, jar lids and kettle; use adapted cutlery"}},
	{Code: "195967001", Display: "Asthma", Weight: 5,
		Medicines: []medicine{{"Beclometasone 100 micrograms/dose inhaler", "2 puffs", "twice daily", "inhaled"}, {"Salbutamol 100 micrograms/dose inhaler", "2 puffs", "when required", "inhaled"}},
		Observes:  []string{"spo2"}},
	{Code: "230690007", Display: "Cerebrovascular accident", Weight: 9, OnsetYears: 10,
		Medicines:  []medicine{{"Clopidogrel", "75 mg", "once daily", "oral"}, {"Atorvastatin", "80 mg", "once daily at night", "oral"}},
		Goals:      []string{"Regain confidence walking indoors with a frame"},
		Activities: []string{"Two carers for transfers using the rotunda turner", "Encourage the exercises left by the community physiotherapist"},
		Observes:   []string{"bp"}},
	{Code: "35489007", Display: "Depressive disorder", Weight: 8,
		Medicines:  []medicine{{"Sertraline", "50 mg", "once daily", "oral"}, {"Mirtazapine", "15 mg", "once daily at night", "oral"}},
		Goals:      []string{"Feel less isolated and keep in touch with family and friends"},
		Activities: []string{"Spend time chatting at each visit; mention the lunch club on Wednesdays"}},
	{Code: "197480006", Display: "Anxiety disorder", Weight: 4,
		Medicines: []medicine{{"Sertraline", "50 mg", "once daily", "oral"}}},
	{Code: "396275006", Display: "Osteoarthritis", Weight: 18,
		Medicines:  []medicine{{"Paracetamol", "1 g", "four times daily when required", "oral"}, {"Co-codamol 30 mg/500 mg", "2 tablets", "four times daily when required", "oral"}},
		Goals:      []string{"Keep pain at a level that lets them get up and about"},
		Activities: []string{"Offer pain relief before personal care if needed"}},
	{Code: "709044004", Display: "Chronic kidney disease", Weight: 8, OnsetYears: 12,
		Activities: []string{"Encourage fluids through the day unless the GP has set a limit"},
		Observes:   []string{"bp", "weight"}},
	{Code: "49049000", Display: "Parkinson's disease", Weight: 4, OnsetYears: 12,
		Medicines:  []medicine{{"Co-careldopa 25 mg/100 mg", "1 tablet", "four times daily at 08:00, 12:00, 16:00 and 20:00", "oral"}},
		Goals:      []string{"Take Parkinson's medicines on time, every time"},
		Activities: []string{"Visits must be on time for medicines; prompt at the times on the chart"}},
	{Code: "64859006", Display: "Osteoporosis", Weight: 8, OnsetYears: 15,
		Medicines:  []medicine{{"Alendronic acid", "70 mg", "once weekly on Sundays, 30 minutes before breakfast", "oral"}, {"Calcium carbonate with colecalciferol", "1 chewable tablet", "twice daily", "oral"}},
		Activities: []string{"Make sure the pendant alarm is worn"}},
	{Code: "53741008", Display: "Coronary arteriosclerosis", Weight: 10,
		Medicines: []medicine{{"Aspirin", "75 mg", "once daily", "oral"}, {"Atorvastatin", "40 mg", "once daily at night", "oral"}, {"Glyceryl trinitrate 400 micrograms/dose spray", "1–2 sprays", "when required for chest pain", "sublingual"}},
		Observes:  []string{"bp", "pulse"}},
	{Code: "40930008", Display: "Hypothyroidism", Weight: 6,
		Medicines: []medicine{{"Levothyroxine", "100 micrograms", "once daily before breakfast", "oral"}}},
	{Code: "13644009", Display: "Hypercholesterolemia", Weight: 8,
		Medicines: []medicine{{"Atorvastatin", "20 mg", "once daily at night", "oral"}}},
	{Code: "165232002", Display: "Urinary incontinence", Weight: 10, OnsetYears: 10,
		Medicines:  []medicine{{"Solifenacin", "5 mg", "once daily", "oral"}},
		Goals:      []string{"Stay comfortable, clean and dry"},
		Activities: []string{"Offer the toilet at each visit; change pads and check skin"}},
	{Code: "90560007", Display: "Gout", Weight: 3,
		Medicines: []medicine{{"Allopurinol", "100 mg", "once daily", "oral"}}},
	{Code: "24700007", Display: "Multiple sclerosis", Weight: 2, OnsetYears: 25,
		Medicines:  []medicine{{"Baclofen", "10 mg", "three times daily", "oral"}},
		Goals:      []string{"Manage fatigue and stiffness"},
		Activities: []string{"Use the hoist and two carers for all transfers"}},
	{Code: "84757009", Display: "Epilepsy", Weight: 2,
		Medicines:  []medicine{{"Levetiracetam", "500 mg", "twice daily", "oral"}},
		Activities: []string{"Follow the seizure plan in the kitchen folder; time any seizure and call 999 if it lasts over 5 minutes"}},
	{Code: "399912005", Display: "Pressure ulcer", Weight: 5, Resolvable: true,
		Goals:      []string{"Heal the pressure ulcer and prevent new ones"},
		Activities: []string{"Reposition every 2–3 hours when in bed; check heels and sacrum", "Nurse to dress the wound as per wound chart"},
		Nursing: &nursingNeed{"Dress pressure ulcer and review the wound chart", 2, 1, 45,
			"Reviewed pressure areas. Sacrum: category 2 pressure ulcer, 2 cm by 1.5 cm, no signs of infection. Hydrocolloid dressing applied. Pressure-relieving mattress is in place and working."}},
	{Code: "68566005", Display: "Urinary tract infectious disease", Weight: 4, Resolvable: true,
		Medicines: []medicine{{"Nitrofurantoin modified-release", "100 mg", "twice daily for 3 days", "oral"}},
		Observes:  []string{"temp"}},
	{Code: "233604007", Display: "Pneumonia", Weight: 2, Resolvable: true,
		Medicines: []medicine{{"Amoxicillin", "500 mg", "three times daily for 5 days", "oral"}},
		Observes:  []string{"temp", "spo2"}},
}

// nursingNeed is a reason the community nursing team visits.
type nursingNeed struct {
	Task    string
	Days    int // visit every this many days
	Calls   int // visits on a visiting day
	Minutes int // how long a visit takes
	Note    string
}

// nursingNeeds are the community nursing caseload's usual reasons to visit,
// besides those that come with a condition.
var nursingNeeds = []nursingNeed{
	{"Dress leg ulcer and reapply compression bandaging", 3, 1, 60,
		"Leg ulcer on left lower leg cleaned with saline and redressed with a non-adherent dressing; compression reapplied. Wound edges improving, small amount of exudate. Next dressing due in 3 days."},
	{"Give catheter care and change the catheter bag", 7, 1, 30,
		"Catheter bag changed and catheter care given. Urine clear and draining well. {name} reminded to keep drinking through the day."},
	{"Dress surgical wound and check healing", 2, 1, 45,
		"Surgical wound on right hip redressed. Clips out, wound healing well, no redness or discharge. Review in 2 days."},
	{"Take blood sample for monitoring bloods", 7, 1, 30,
		"Bloods taken from the left arm for kidney function and full blood count, sent to the lab at St James's. {name} tolerated well."},
	{"Apply compression bandaging to both legs", 3, 1, 45,
		"Compression bandages reapplied to both legs. Skin intact, swelling reduced since last week. {name} tolerating bandaging well."},
	{"Check pressure areas and review skin care", 4, 1, 30,
		"Pressure areas checked. Sacrum and heels intact with slight redness on the left heel that blanches. Heel protectors in place; carers reminded to reposition."},
	{"Administer eye drops after cataract surgery", 1, 1, 30,
		"Eye drops administered to the right eye as prescribed. Eye looks comfortable, no redness or discharge. {name} says vision is already clearer."},
	{"Flush PICC line and change dressing", 7, 1, 45,
		"PICC line flushed without resistance and dressing changed using aseptic technique. Site clean, no signs of infection. Arm circumference unchanged."},
}

// allergyDef is a substance people are commonly allergic or intolerant to.
type allergyDef struct {
	Substance string
	Reactions []string
	Severity  []string // possible severities; one is chosen
	Weight    int
}

var allergyDefs = []allergyDef{
	{"Penicillin", []string{"Rash", "Urticaria", "Anaphylaxis", "Swelling of lips and face"}, []string{"mild", "moderate", "severe"}, 30},
	{"Amoxicillin", []string{"Rash", "Diarrhoea"}, []string{"mild", "moderate"}, 6},
	{"Latex", []string{"Contact dermatitis", "Itching and redness"}, []string{"mild", "moderate"}, 8},
	{"Peanuts", []string{"Anaphylaxis", "Throat swelling"}, []string{"severe"}, 5},
	{"Codeine", []string{"Nausea and vomiting", "Drowsiness and confusion"}, []string{"mild", "moderate"}, 10},
	{"Ibuprofen", []string{"Wheeze", "Indigestion"}, []string{"mild", "moderate"}, 8},
	{"Aspirin", []string{"Wheeze", "Stomach bleeding"}, []string{"moderate", "severe"}, 4},
	{"Trimethoprim", []string{"Rash", "Itching"}, []string{"mild"}, 5},
	{"Sulfonamide antibiotics", []string{"Rash", "Fever"}, []string{"moderate"}, 3},
	{"Morphine", []string{"Confusion and hallucinations", "Nausea"}, []string{"moderate"}, 4},
	{"Adhesive dressings", []string{"Skin irritation and blistering"}, []string{"mild"}, 7},
	{"Chlorhexidine", []string{"Skin redness", "Anaphylaxis"}, []string{"mild", "severe"}, 2},
	{"Shellfish", []string{"Hives", "Vomiting"}, []string{"moderate"}, 3},
	{"Eggs", []string{"Hives"}, []string{"mild"}, 2},
	{"Wasp venom", []string{"Anaphylaxis", "Local swelling"}, []string{"moderate", "severe"}, 2},
	{"Clarithromycin", []string{"Nausea", "Rash"}, []string{"mild"}, 3},
}

// observationDef is a measurement the generator records.
type observationDef struct {
	Key     string
	Code    string // LOINC
	Display string
	Unit    string // UCUM
}

// observationDefs are the observations carers and nurses record. Blood
// glucose is 15074-8 (moles/volume, mmol/L as UK meters report it), not
// 2339-0, which is the mass/volume (mg/dL) code.
var observationDefs = map[string]observationDef{
	"systolic":  {"systolic", "8480-6", "Systolic blood pressure", "mm[Hg]"},
	"diastolic": {"diastolic", "8462-4", "Diastolic blood pressure", "mm[Hg]"},
	"pulse":     {"pulse", "8867-4", "Heart rate", "/min"},
	"weight":    {"weight", "29463-7", "Body weight", "kg"},
	"spo2":      {"spo2", "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%"},
	"temp":      {"temp", "8310-5", "Body temperature", "Cel"},
	"glucose":   {"glucose", "15074-8", "Glucose [Moles/volume] in Blood", "mmol/L"},
	"resp":      {"resp", "9279-1", "Respiratory rate", "/min"},
}

// Visit slots through the day: the earliest start (hour, minute) and the
// tasks done then.
type visitSlot struct {
	Name   string
	Hour   int
	Minute int
	Tasks  []string
	Extras []string // a few of these are added
}

var visitSlots = []visitSlot{
	{"morning", 7, 30, []string{"Assist with washing and dressing", "Prompt medication"},
		[]string{"Prepare breakfast and a hot drink", "Empty and clean commode", "Apply prescribed cream to legs", "Help with compression stockings", "Make the bed", "Check the pendant alarm is worn"}},
	{"lunch", 12, 0, []string{"Prepare lunch"},
		[]string{"Prompt medication", "Check fluid intake and leave a drink within reach", "Wash up and tidy the kitchen", "Assist with toileting"}},
	{"tea", 16, 30, []string{"Prepare evening meal"},
		[]string{"Prompt medication", "Leave a sandwich and drink for supper", "Assist with toileting", "Close curtains and check heating"}},
	{"bed", 20, 0, []string{"Assist to bed", "Prompt medication"},
		[]string{"Assist with changing into nightwear", "Apply barrier cream", "Leave commode by the bed", "Check doors are locked and key returned to key safe"}},
}

// noteTemplate is the text of a note. Placeholders: {name} is how staff
// refer to the person ("Mrs Patel", "Arthur"); {they}, {their}, {them} and
// {spouse} follow the person's gender.
type noteTemplate struct {
	// Slot is the visit slot (visitSlots' Name) the note is written in, or
	// "" for any time of day.
	Slot string
	// Requires lists SNOMED CT codes of active conditions, one of which the
	// person must have for the note to make sense; empty for anyone.
	Requires []string
	Text     string
}

// careNotes are written by carers at home-care calls.
var careNotes = []noteTemplate{
	{"morning", nil, "Morning call. {name} was already up and sitting in the chair on arrival. Assisted with a strip wash and dressing. Breakfast of porridge and tea taken well. Tablets prompted and taken from the blister pack. No concerns."},
	{"lunch", nil, "Lunch call. {name} said {they} had not slept well and felt tired. Made soup and a sandwich, ate about half. Encouraged fluids and left a jug of squash within reach."},
	{"tea", nil, "Tea call. {name} in good spirits, daughter had visited earlier. Heated the ready meal left in the fridge and all eaten. Curtains closed and heating checked before leaving."},
	{"bed", nil, "Bed call. Assisted {name} to change into nightwear and into bed. Skin checked, heels and sacrum intact. Commode left by the bed and pendant alarm on. Key returned to key safe."},
	{"morning", nil, "Morning call. {name} was found on the floor of the bedroom on arrival, conscious and talking. Said {they} slipped getting out of bed about 6am. No obvious injury. Did not lift; called the office and 111 as per policy. Paramedics attended and helped {them} up; advised to see GP. Family informed."},
	{"morning", nil, "{name} refused personal care today, saying {they} would wash later. Respected choice; offered again before leaving and declined. Breakfast and tablets taken. Will let the office know if this continues."},
	{"bed", nil, "Noticed a red area on {their} left heel, skin not broken. Applied barrier cream, pillow under calves to offload heels. Reported to the district nurses by phone."},
	{"", []string{"52448006", "26929004"}, "{name} appeared more confused than usual, asking for {their} late {spouse} and not sure what day it was. Temperature normal. Drank two cups of tea. Office informed to ask GP to check for infection."},
	{"", nil, "Prescription delivered by the pharmacy during the visit. Checked the new blister pack against the MAR chart; one item missing (cream). Rang the pharmacy who will deliver tomorrow."},
	{"lunch", nil, "Lunch call. {name} enjoyed a chat about {their} years working at the mill. Cheese on toast and a yoghurt eaten. Bins taken out as it is collection day tomorrow."},
	{"tea", nil, "Fridge checked: milk out of date, thrown away. Shopping list left for the son. {name} has enough bread and ready meals for two days."},
	{"morning", []string{"230690007", "24700007"}, "Double-up call. Hoisted from bed to chair with the full body sling, no problems. {name} comfortable and watching television when we left."},
	{"", []string{"13645005", "195967001"}, "{name} said {their} chest felt tight and was more short of breath than usual. Sitting upright, able to talk in sentences. Used blue inhaler with effect. Advised to call 999 if worse; office told to ask the nursing team to visit."},
	{"bed", nil, "Bed call slightly late due to traffic; phoned ahead to let {name} know. Night routine completed and {they} thanked us for the call."},
	{"", []string{"49049000"}, "Co-careldopa prompted on time. {name} was stiff and slow to get going but walking steadily with the frame after 20 minutes."},
	{"", []string{"44054006", "46635009"}, "{name} felt shaky and sweaty. Blood glucose 3.6 mmol/L on {their} meter. Gave a glass of orange juice and a biscuit as per the hypo plan; 15 minutes later 5.8 mmol/L and feeling better. Office informed."},
}

// nurseNotes are written by community nurses, for anyone on the caseload.
// The notes about a particular reason to visit are in nursingNeed.Note.
var nurseNotes = []noteTemplate{
	{"", nil, "Medication review with {name} and {their} daughter. Blister pack in use and taken reliably. Paracetamol being used most days for knee pain; advised to take regularly rather than when needed."},
	{"", nil, "Holistic assessment. {name} mobilises with a frame indoors and needs help with washing, dressing and meals. Current care package appears to be meeting needs. Falls risk discussed; pendant alarm in place."},
	{"", []string{"13645005", "84114007"}, "Observations taken at the request of the carers, who were worried {name} seemed more breathless. Chest sounds crackly at the bases. Discussed with the GP, who will visit this afternoon."},
}

// clinicianNotes are written by the team's clinician.
var clinicianNotes = []noteTemplate{
	{"", nil, "Annual review. Long-term conditions reviewed. Blood pressure acceptable for age. Repeat medication reviewed and continued. Discussed advance care planning with {name}, who would like to stay at home; recorded in the ReSPECT form."},
	{"", nil, "Seen at home after a fall reported by carers. No head injury, full range of movement in hips. Referred to the falls team and community physiotherapy."},
	{"", []string{"44054006", "46635009", "709044004"}, "Telephone review of blood results: kidney function stable, HbA1c improved. No change to medicines. Next bloods in 6 months."},
	{"", []string{"68566005"}, "Home visit for worsening confusion. Urine dip positive for nitrites and leucocytes. Started a 3-day course of nitrofurantoin. Carers asked to encourage fluids and report if not improving in 48 hours."},
}

// Entry instructions and hazards for HomeAccess.
var entryInstructions = []string{
	"Key safe to the left of the back door; ring bell twice before entering.",
	"Key safe on the wall beside the front porch, behind the hanging basket. Knock and call out before letting yourself in.",
	"Key safe by the garage side door. Use the back door; the front door is bolted from inside.",
	"Key safe beneath the kitchen window. Return the key and scramble the code after every visit.",
	"Flat on the second floor. Buzz flat number then use the fob in the key safe by the main entrance for the communal door.",
	"Son lets carers in at the morning call; key safe by the back gate for other calls.",
	"Key safe inside the porch (porch door is unlocked during the day). Lift the flap over the keypad.",
	"Sheltered housing: ask the scheme manager in office hours; out of hours use the key safe to the right of the flat door.",
}

var hazardsList = []string{
	"Small dog; please keep it in the kitchen during personal care.",
	"Oxygen in use — no naked flames; nobody may smoke in the property.",
	"Steep steps to the front door with no handrail; use the back entrance in icy weather.",
	"Two cats; do not let them out of the front door.",
	"Loose rug in the hallway — {they} won't let us remove it; take care.",
	"Poor lighting on the stairs; bulb reported to the landlord.",
	"Son can be verbally aggressive when he has been drinking; leave and call the office if you feel unsafe.",
	"Hoarding in the back bedroom; keep walkways to the bathroom clear.",
	"Parking is difficult on the street; use the church car park opposite.",
	"Mobile signal is poor inside; use the landline in the hall to call the office.",
}

// Care plan titles by service.
const (
	homeCarePlanTitle = "Home care support plan"
	nursingPlanTitle  = "Community nursing care plan"
)

var baseGoals = []string{
	"Remain living independently at home",
	"Stay safe from falls",
	"Maintain a balanced diet and enough fluids",
	"Take medicines as prescribed",
	"Keep skin healthy and free from pressure damage",
	"Stay in touch with friends and community",
}

var baseActivities = []string{
	"Prompt medication from the blister pack and record on the MAR chart",
	"Assist with washing and dressing, promoting independence where possible",
	"Prepare meals of {their} choice and leave a drink within reach",
	"Check the pendant alarm is worn at each visit",
	"Record food and fluid intake in the daily notes",
	"Check skin for redness at pressure areas and report any concerns",
}

// Team names for staff.
const (
	teamHomeCare = "Home care"
	teamNursing  = "Community nursing"
	teamOffice   = "Office"
)
