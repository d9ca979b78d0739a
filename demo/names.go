package demo

// This file is data, not code: the word lists the generator draws from.
// Names are grouped by the UK communities they are common in (English,
// Scottish, Welsh and Irish; Pakistani and Bangladeshi; Indian; Caribbean;
// African; East Asian; Polish and other European), so that a person's given and family names
// usually go together, and by generation, so that a 90-year-old is more
// likely to be a Doris or an Arthur than a Chloe.

// community is one group of names.
type community struct {
	Name string
	// Weights of the community among people receiving care (mostly born
	// before 1960) and among staff.
	PeopleWeight, StaffWeight  int
	FemaleOlder, FemaleYounger []string // born 1925–1960, 1965–2005
	MaleOlder, MaleYounger     []string
	Surnames                   []string
}

var communities = []community{
	{
		Name: "British and Irish", PeopleWeight: 86, StaffWeight: 60,
		FemaleOlder: []string{
			"Margaret", "Joan", "Dorothy", "Doris", "Irene", "Jean", "Betty", "Edna",
			"Sheila", "Patricia", "Barbara", "Brenda", "Maureen", "Pauline", "Eileen",
			"Mavis", "Winifred", "Gladys", "Hilda", "Valerie", "Christine", "Sandra",
			"Elizabeth", "Mary", "Kathleen", "Brigid", "Morag", "Agnes", "Gwendoline",
			"Bronwen", "Olwen", "Rita", "Iris",
		},
		FemaleYounger: []string{
			"Sarah", "Emma", "Claire", "Rachel", "Laura", "Gemma", "Amy", "Hannah",
			"Chloe", "Sophie", "Jessica", "Lauren", "Zoe", "Kirsty", "Nicola", "Lisa",
			"Siân", "Cerys", "Rhiannon", "Niamh", "Siobhán", "Aoife", "Eilidh", "Ruth",
			"Joanna",
		},
		MaleOlder: []string{
			"Arthur", "Albert", "Harold", "Kenneth", "Ronald", "Dennis", "Stanley",
			"Frank", "Ernest", "Leslie", "Norman", "Derek", "Raymond", "Brian",
			"Geoffrey", "Malcolm", "Trevor", "Colin", "Roy", "Keith", "Alan", "Peter",
			"John", "William", "George", "Thomas", "Hamish", "Angus", "Gareth",
			"Emrys", "Dafydd", "Seamus", "Patrick",
		},
		MaleYounger: []string{
			"James", "Daniel", "Matthew", "Christopher", "Andrew", "Mark", "Paul",
			"Michael", "Ryan", "Liam", "Jack", "Oliver", "Harry", "Callum", "Jamie",
			"Rhys", "Owain", "Cian", "Seán", "Ross", "Euan",
		},
		Surnames: []string{
			"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson",
			"Davies", "Robinson", "Wright", "Thompson", "Evans", "Walker", "White",
			"Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke", "Harris",
			"Lewis", "Hughes", "Edwards", "Turner", "Hill", "Moore", "Clark",
			"Cooper", "Harrison", "Ward", "Martin", "Baker", "Allen", "Morris",
			"King", "Lee", "Parker", "Watson", "Bennett", "Cook", "Shaw", "Young",
			"Mitchell", "Holmes", "Bailey", "Kelly", "Price", "Marshall", "Collins",
			"Hudson", "Atkinson", "Lawson", "Pickles", "Sutcliffe", "Ackroyd",
			"Greenwood", "Holroyd", "Barraclough", "Hepworth", "Illingworth",
			"Crowther", "Hirst", "Firth", "Haigh", "Booth", "Brook", "Dawson",
			"Fletcher", "Naylor", "Outhwaite", "Pearson", "Priestley", "Rhodes",
			"Schofield", "Stead", "Thornton", "Whiteley", "Wilkinson", "Wainwright",
			"Fairbairn", "Gill", "Lockwood", "Metcalfe", "Bairstow",
			"Hughes-Jones", "Ashworth-Pike", "Lloyd-Evans",
			// Scottish.
			"Campbell", "Stewart", "MacDonald", "Robertson", "Murray", "Reid",
			"Ross", "Fraser", "Cameron", "McLeod", "Sinclair", "Kerr", "Paterson",
			"McKenzie", "Grant", "Lindsay",
			// Welsh.
			"Llewellyn", "Pritchard", "Griffiths", "Morgan", "Vaughan", "Powell",
			"Rees", "Bowen", "Prosser", "Pugh",
			// Irish.
			"Murphy", "O'Brien", "O'Connor", "Byrne", "Doyle", "McCarthy", "Gallagher",
			"Brennan", "Quinn", "Kavanagh", "O'Neill", "Fitzgerald", "Donnelly",
		},
	},
	{
		Name: "Pakistani, Bangladeshi and other Muslim South Asian", PeopleWeight: 4, StaffWeight: 8,
		FemaleOlder:   []string{"Parveen", "Shirin", "Rukhsana", "Nasreen", "Zubeda"},
		FemaleYounger: []string{"Aisha", "Fatima", "Nusrat", "Ayesha", "Sana"},
		MaleOlder:     []string{"Mohammed", "Abdul", "Rafiq", "Ghulam", "Mushtaq"},
		MaleYounger:   []string{"Imran", "Amir", "Hassan", "Bilal", "Zain"},
		Surnames: []string{
			"Khan", "Ahmed", "Hussain", "Ali", "Begum", "Iqbal", "Akhtar", "Mahmood",
			"Rahman", "Chaudhry", "Bibi", "Bashir", "Rashid", "Miah", "Uddin",
			"Choudhury",
		},
	},
	{
		Name: "Indian (Sikh and Hindu)", PeopleWeight: 3, StaffWeight: 6,
		FemaleOlder:   []string{"Surinder", "Kamala", "Jaswinder", "Kulwant", "Savitri"},
		FemaleYounger: []string{"Priya", "Harpreet", "Simran", "Anjali"},
		MaleOlder:     []string{"Gurdev", "Mohinder", "Harbans", "Ramesh"},
		MaleYounger:   []string{"Rajesh", "Arjun", "Vikram", "Sandeep"},
		Surnames: []string{
			"Patel", "Singh", "Kaur", "Shah", "Sharma", "Mistry", "Chauhan",
			"Sandhu", "Bains", "Dhillon", "Kumar", "Mehta", "Desai", "Nair",
			"Pillai",
		},
	},
	{
		Name: "Caribbean", PeopleWeight: 3, StaffWeight: 4,
		FemaleOlder:   []string{"Gloria", "Hyacinth", "Myrtle", "Cynthia", "Pearline"},
		FemaleYounger: []string{"Shanice", "Kerry-Ann", "Tanisha"},
		MaleOlder:     []string{"Winston", "Clifford", "Desmond", "Linval", "Errol"},
		MaleYounger:   []string{"Marcus", "Jerome", "Dwayne"},
		Surnames: []string{
			"Brathwaite", "Francis", "Joseph", "Charles", "Forbes", "Henry",
			"Grannum", "Campbell", "Williams", "Clarke", "Thomas", "Gordon",
		},
	},
	{
		Name: "African", PeopleWeight: 1, StaffWeight: 10,
		FemaleOlder:   []string{"Comfort", "Abena"},
		FemaleYounger: []string{"Chipo", "Folake", "Abimbola", "Grace", "Amina", "Blessing"},
		MaleOlder:     []string{"Kwame", "Samuel"},
		MaleYounger:   []string{"Tunde", "Chinedu", "Kofi", "Emeka", "Tendai"},
		Surnames: []string{
			"Okafor", "Adeyemi", "Okonkwo", "Mensah", "Asante", "Boateng", "Osei",
			"Adebayo", "Nwosu", "Mwangi", "Kamara", "Musa", "Abdi", "Hassan",
			"Mohamed", "Yusuf", "Moyo",
		},
	},
	{
		Name: "East Asian", PeopleWeight: 1, StaffWeight: 3,
		FemaleOlder:   []string{"Mei", "Siu Ling"},
		FemaleYounger: []string{"Li Na", "Hoa"},
		MaleOlder:     []string{"Kam", "Wing"},
		MaleYounger:   []string{"Wei", "Minh"},
		Surnames:      []string{"Chen", "Wong", "Li", "Zhang", "Wang", "Liu", "Cheung", "Lam", "Nguyen", "Tran"},
	},
	{
		Name: "Polish and other European", PeopleWeight: 2, StaffWeight: 9,
		FemaleOlder:   []string{"Krystyna", "Halina", "Maria"},
		FemaleYounger: []string{"Agnieszka", "Katarzyna", "Mariana", "Ana", "Ioana"},
		MaleOlder:     []string{"Jerzy", "Stanisław", "Giuseppe"},
		MaleYounger:   []string{"Tomasz", "Piotr", "Mateusz", "Andrei", "João"},
		Surnames: []string{
			"Nowak", "Kowalski", "Wiśniewski", "Zieliński", "Kowalczyk",
			"Lewandowski", "Mazur", "Rossi", "Silva", "Ferreira", "Costa",
			"Papadopoulos", "Horvat", "Novák", "Popescu",
		},
	},
}

// locality is a district the agency covers, with the postcode district and
// post town Royal Mail gives it. All are in and around Leeds, where the
// demo agency is based.
type locality struct {
	Name     string // district or suburb, printed as an address line
	Town     string // post town
	Outward  string // postcode district, "LS6"
	Landline string // Ofcom drama-range prefix; three digits complete the number
}

// localities are the districts the demo agency and nursing team cover.
// Landlines use the Ofcom drama ranges (0113 496 0000–0999 for Leeds,
// 01632 960000–960999 for numbers with no real area), so they look real but
// are never allocated to anyone.
var localities = []locality{
	{"Headingley", "Leeds", "LS6", "0113 496 0"},
	{"Chapel Allerton", "Leeds", "LS7", "0113 496 0"},
	{"Roundhay", "Leeds", "LS8", "0113 496 0"},
	{"Armley", "Leeds", "LS12", "0113 496 0"},
	{"Bramley", "Leeds", "LS13", "0113 496 0"},
	{"Seacroft", "Leeds", "LS14", "0113 496 0"},
	{"Crossgates", "Leeds", "LS15", "0113 496 0"},
	{"Kirkstall", "Leeds", "LS5", "0113 496 0"},
	{"Beeston", "Leeds", "LS11", "0113 496 0"},
	{"Moortown", "Leeds", "LS17", "0113 496 0"},
	{"Horsforth", "Leeds", "LS18", "0113 496 0"},
	{"Yeadon", "Leeds", "LS19", "0113 496 0"},
	{"Rothwell", "Leeds", "LS26", "0113 496 0"},
	{"Garforth", "Leeds", "LS25", "0113 496 0"},
	{"Morley", "Leeds", "LS27", "0113 496 0"},
	{"Pudsey", "Pudsey", "LS28", "0113 496 0"},
	{"Guiseley", "Leeds", "LS20", "01632 960"},
	{"Otley", "Otley", "LS21", "01632 960"},
	{"Wetherby", "Wetherby", "LS22", "01632 960"},
	{"Boston Spa", "Wetherby", "LS23", "01632 960"},
}

// streets are street names of the kind found in any West Yorkshire town.
var streets = []string{
	"Church Lane", "Station Road", "Victoria Street", "Moor Lane",
	"Otley Road", "Town Street", "Main Street", "Park Avenue", "Elmwood Grove",
	"Beech Crescent", "Chestnut Avenue", "Hawthorn Drive", "Oakwood Lane",
	"Westfield Road", "Eastfield Drive", "Springfield Mount", "Highfield Close",
	"Manor Road", "Mill Lane", "Chapel Street", "Back Lane", "Green Lane",
	"North Lane", "Queen Street", "King Street", "Albert Road", "Brudenell Road",
	"Cardigan Road", "St Michael's Lane", "Harrogate Road", "Wakefield Road",
	"York Road", "Kirkgate", "Woodhouse Lane", "Cliff Road", "Grove Terrace",
	"Hollin Lane", "Stainbeck Road", "Hawksworth Road", "Ring Road",
	"Cross Flatts Grove", "Low Lane", "Meadow Way", "The Drive", "The Avenue",
	"Holly Bank", "Birch Avenue", "Lime Tree Avenue", "Sycamore Close",
	"Rowan Court", "Primrose Hill", "Bluebell Walk", "Heather Gardens",
	"Windermere Drive", "Coniston Way", "Derwent Avenue", "Aire Street",
	"Wharfe View", "Calder Close", "Nidd Approach", "Shire Oak Road",
	"Ash Road", "Willow Garth", "Poplar Rise", "Fearnville Place",
	"Tinshill Road", "Broadgate Lane", "New Road Side", "Lidget Hill",
	"Bradford Road", "Leeds Road", "Butts Court", "Prospect Place",
}

// blocks are names of flats and sheltered-housing schemes, for the people
// who live in a flat rather than a house.
var blocks = []string{
	"Beech Court", "Harewood House", "Kirkstall Court", "Abbey Mews",
	"Aire View", "Primrose House", "St Anne's Court", "Wharfedale Court",
	"Hawthorn House", "Roundhay Court", "Temple View", "Oak Tree Court",
}

// practiceNames are made-up GP practice names.
var practiceNames = []string{
	"Kirkgate Surgery", "Aire Valley Medical Practice", "Moor Lane Health Centre",
	"Wharfedale Family Practice", "Chapel Allerton Group Practice",
	"Beech Tree Surgery", "Park Road Medical Centre", "Station Road Surgery",
	"Riverside Health Centre", "Oakwood Medical Practice",
	"Town Street Surgery", "Horsforth Green Practice",
}

// practiceCodes are ODS-style codes for the practices above, in the same
// order. They use a 9xx range in the Leeds prefix, so they look right in a
// list of practices without claiming a real one.
var practiceCodes = []string{
	"B86901", "B86902", "B86903", "B86904", "B86905", "B86906",
	"B86907", "B86908", "B86909", "B86910", "B86911", "B86912",
}
