package seed

// state is a state with some of its districts and the first three digits
// of their pincodes.
type state struct {
	Name, Code string
	Districts  []district
	Weight     int // relative population
}

type district struct {
	Name, Code, Pin string
}

// country is a small India: real state and district names, pincode
// prefixes that belong to them, weights roughly by population.
var country = []state{
	{"Uttar Pradesh", "UP", []district{{"Lucknow", "LKO", "226"}, {"Kanpur Nagar", "KNP", "208"}, {"Varanasi", "VNS", "221"}}, 20},
	{"Maharashtra", "MH", []district{{"Mumbai", "MUM", "400"}, {"Pune", "PUN", "411"}, {"Nagpur", "NAG", "440"}}, 11},
	{"Bihar", "BR", []district{{"Patna", "PAT", "800"}, {"Gaya", "GAY", "823"}}, 10},
	{"West Bengal", "WB", []district{{"Kolkata", "KOL", "700"}, {"Howrah", "HWH", "711"}, {"Darjeeling", "DJG", "734"}}, 8},
	{"Tamil Nadu", "TN", []district{{"Chennai", "CHN", "600"}, {"Coimbatore", "CBE", "641"}}, 6},
	{"Karnataka", "KA", []district{{"Bengaluru Urban", "BLR", "560"}, {"Mysuru", "MYS", "570"}}, 5},
	{"Gujarat", "GJ", []district{{"Ahmedabad", "AMD", "380"}, {"Surat", "SRT", "395"}}, 5},
	{"Rajasthan", "RJ", []district{{"Jaipur", "JPR", "302"}, {"Jodhpur", "JDH", "342"}}, 6},
	{"Kerala", "KL", []district{{"Thiruvananthapuram", "TVM", "695"}, {"Ernakulam", "EKM", "682"}}, 3},
	{"Assam", "AS", []district{{"Kamrup Metropolitan", "GUW", "781"}}, 3},
	{"Odisha", "OD", []district{{"Khordha", "BBS", "751"}, {"Cuttack", "CTC", "753"}}, 4},
	{"Delhi", "DL", []district{{"New Delhi", "NDL", "110"}}, 2},
}

var firstNames = []string{"Aarav", "Vivaan", "Aditya", "Arjun", "Sai", "Reyansh", "Ishaan", "Rohan", "Kabir", "Anil",
	"Suresh", "Ramesh", "Mohammed", "Imran", "Gurpreet", "Joseph", "Ananya", "Diya", "Aadhya", "Saanvi", "Kavya",
	"Priya", "Lakshmi", "Sunita", "Asha", "Fatima", "Meera", "Pooja", "Deepa", "Harpreet", "Mary", "Nandini"}

var lastNames = []string{"Sharma", "Verma", "Patel", "Yadav", "Singh", "Kumar", "Das", "Banerjee", "Chatterjee", "Iyer",
	"Nair", "Menon", "Reddy", "Rao", "Naidu", "Pillai", "Khan", "Ansari", "Gill", "Fernandes", "Mehta", "Shah",
	"Desai", "Patil", "Kulkarni", "Joshi", "Mishra", "Pandey", "Tiwari", "Bora", "Mohanty", "Gowda"}

var siteKinds = []string{"PHC", "UPHC", "CHC", "District Hospital", "Sub Centre", "Medical College"}
