package synth

// state is a state with some of its districts, their three-digit pincode
// prefixes, and a weight roughly by population.
type state struct {
	name, code string
	districts  []district
	weight     int
}

type district struct {
	name, code, pin string
}

// country is a small India: real state and district names and pincode
// prefixes that belong to them.
var country = []state{
	{"Uttar Pradesh", "UP", []district{{"Lucknow", "LKO", "226"}, {"Kanpur Nagar", "KNP", "208"}, {"Varanasi", "VNS", "221"}}, 20},
	{"Maharashtra", "MH", []district{{"Mumbai", "MUM", "400"}, {"Pune", "PUN", "411"}, {"Nagpur", "NAG", "440"}}, 11},
	{"Bihar", "BR", []district{{"Patna", "PAT", "800"}, {"Gaya", "GAY", "823"}}, 10},
	{"West Bengal", "WB", []district{{"Kolkata", "KOL", "700"}, {"Howrah", "HWH", "711"}, {"Darjeeling", "DJG", "734"}}, 8},
	{"Rajasthan", "RJ", []district{{"Jaipur", "JPR", "302"}, {"Jodhpur", "JDH", "342"}}, 6},
	{"Tamil Nadu", "TN", []district{{"Chennai", "CHN", "600"}, {"Coimbatore", "CBE", "641"}}, 6},
	{"Karnataka", "KA", []district{{"Bengaluru Urban", "BLR", "560"}, {"Mysuru", "MYS", "570"}}, 5},
	{"Gujarat", "GJ", []district{{"Ahmedabad", "AMD", "380"}, {"Surat", "SRT", "395"}}, 5},
	{"Odisha", "OD", []district{{"Khordha", "BBS", "751"}, {"Cuttack", "CTC", "753"}}, 4},
	{"Kerala", "KL", []district{{"Thiruvananthapuram", "TVM", "695"}, {"Ernakulam", "EKM", "682"}}, 3},
	{"Assam", "AS", []district{{"Kamrup Metropolitan", "GUW", "781"}}, 3},
	{"Delhi", "DL", []district{{"New Delhi", "NDL", "110"}}, 2},
}

var firstNames = []string{"Aarav", "Vivaan", "Aditya", "Arjun", "Sai", "Reyansh", "Ishaan", "Rohan", "Kabir", "Anil",
	"Suresh", "Ramesh", "Mohammed", "Imran", "Gurpreet", "Joseph", "Ananya", "Diya", "Aadhya", "Saanvi", "Kavya",
	"Priya", "Lakshmi", "Sunita", "Asha", "Fatima", "Meera", "Pooja", "Deepa", "Harpreet", "Mary", "Nandini"}

var lastNames = []string{"Sharma", "Verma", "Patel", "Yadav", "Singh", "Kumar", "Das", "Banerjee", "Chatterjee", "Iyer",
	"Nair", "Menon", "Reddy", "Rao", "Naidu", "Pillai", "Khan", "Ansari", "Gill", "Fernandes", "Mehta", "Shah",
	"Desai", "Patil", "Kulkarni", "Joshi", "Mishra", "Pandey", "Tiwari", "Bora", "Mohanty", "Gowda"}

var siteKinds = []string{"PHC", "UPHC", "CHC", "District Hospital", "Sub Centre", "Medical College"}

// slots are a session's time slots, and the minute of the day each starts.
var (
	slots       = []string{"09:00-11:00", "11:00-13:00", "14:00-16:00", "16:00-18:00"}
	slotMinutes = []int{9 * 60, 11 * 60, 14 * 60, 16 * 60}
)

var cancelReasons = []string{"unwell on the day", "cannot travel", "booked the wrong centre", "family emergency"}

// familyShapes split a block of ten people into families sharing one
// mobile number (at most ledger.MaxPerAccount each).
var familyShapes = [][]int{
	{4, 3, 2, 1}, {3, 3, 2, 2}, {2, 2, 2, 2, 2}, {4, 4, 2}, {1, 1, 4, 4},
	{3, 3, 3, 1}, {2, 3, 1, 4}, {1, 2, 3, 4}, {4, 2, 2, 1, 1}, {3, 2, 2, 2, 1},
}
