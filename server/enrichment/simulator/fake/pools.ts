/**
 * Word lists the fake data is drawn from. Mixed on purpose: US and non-US universities and
 * cities, so struct fields such as `is_american_education` come out both true and false.
 */

export interface University {
	name: string;
	country: string;
	city: string;
}

export const US = 'United States';

export const UNIVERSITIES: readonly University[] = [
	{ name: 'Stanford University', country: US, city: 'Stanford, CA' },
	{ name: 'Massachusetts Institute of Technology', country: US, city: 'Cambridge, MA' },
	{ name: 'University of California, Berkeley', country: US, city: 'Berkeley, CA' },
	{ name: 'University of Michigan', country: US, city: 'Ann Arbor, MI' },
	{ name: 'Georgia Institute of Technology', country: US, city: 'Atlanta, GA' },
	{ name: 'University of Texas at Austin', country: US, city: 'Austin, TX' },
	{ name: 'Carnegie Mellon University', country: US, city: 'Pittsburgh, PA' },
	{ name: 'New York University', country: US, city: 'New York, NY' },
	{ name: 'University of Washington', country: US, city: 'Seattle, WA' },
	{ name: 'Cornell University', country: US, city: 'Ithaca, NY' },
	{ name: 'University of Illinois Urbana-Champaign', country: US, city: 'Urbana, IL' },
	{ name: 'Duke University', country: US, city: 'Durham, NC' },
	{ name: 'University of Oxford', country: 'United Kingdom', city: 'Oxford' },
	{ name: 'Imperial College London', country: 'United Kingdom', city: 'London' },
	{ name: 'University of Toronto', country: 'Canada', city: 'Toronto' },
	{ name: 'University of Waterloo', country: 'Canada', city: 'Waterloo' },
	{ name: 'ETH Zurich', country: 'Switzerland', city: 'Zurich' },
	{ name: 'Technical University of Munich', country: 'Germany', city: 'Munich' },
	{ name: 'Indian Institute of Technology Bombay', country: 'India', city: 'Mumbai' },
	{ name: 'National University of Singapore', country: 'Singapore', city: 'Singapore' },
	{ name: 'Tsinghua University', country: 'China', city: 'Beijing' },
	{ name: 'University of Melbourne', country: 'Australia', city: 'Melbourne' },
	{ name: 'Sciences Po', country: 'France', city: 'Paris' },
	{ name: 'Universidad de Buenos Aires', country: 'Argentina', city: 'Buenos Aires' },
	{ name: 'Technion – Israel Institute of Technology', country: 'Israel', city: 'Haifa' },
	{ name: 'University of São Paulo', country: 'Brazil', city: 'São Paulo' }
];

export interface Place {
	city: string;
	country: string;
}

export const PLACES: readonly Place[] = [
	{ city: 'San Francisco, CA', country: US },
	{ city: 'New York, NY', country: US },
	{ city: 'Austin, TX', country: US },
	{ city: 'Seattle, WA', country: US },
	{ city: 'Boston, MA', country: US },
	{ city: 'Chicago, IL', country: US },
	{ city: 'Denver, CO', country: US },
	{ city: 'London', country: 'United Kingdom' },
	{ city: 'Berlin', country: 'Germany' },
	{ city: 'Toronto', country: 'Canada' },
	{ city: 'Paris', country: 'France' },
	{ city: 'Bangalore', country: 'India' },
	{ city: 'Singapore', country: 'Singapore' },
	{ city: 'Sydney', country: 'Australia' },
	{ city: 'Tel Aviv', country: 'Israel' },
	{ city: 'São Paulo', country: 'Brazil' }
];

/** Words that name a country in free-text locations, mapped to the country. */
export const COUNTRY_WORDS: ReadonlyArray<[RegExp, string]> = [
	[
		/\b(usa|u\.s\.a?|united states|america|california|new york|texas|san francisco|seattle|boston|austin|chicago)\b|,\s*(ca|ny|tx|wa|ma|il|co|ga|pa|nc|fl)\b/i,
		US
	],
	[/\b(uk|united kingdom|england|london|scotland)\b/i, 'United Kingdom'],
	[/\b(canada|toronto|vancouver|montreal|waterloo)\b/i, 'Canada'],
	[/\b(germany|berlin|munich|hamburg)\b/i, 'Germany'],
	[/\b(france|paris|lyon)\b/i, 'France'],
	[/\b(india|bangalore|bengaluru|mumbai|delhi)\b/i, 'India'],
	[/\b(singapore)\b/i, 'Singapore'],
	[/\b(australia|sydney|melbourne)\b/i, 'Australia'],
	[/\b(israel|tel aviv|haifa)\b/i, 'Israel'],
	[/\b(brazil|são paulo|sao paulo)\b/i, 'Brazil'],
	[/\b(switzerland|zurich|geneva)\b/i, 'Switzerland'],
	[/\b(china|beijing|shanghai)\b/i, 'China'],
	[/\b(argentina|buenos aires)\b/i, 'Argentina']
];

export const FIRST_NAMES = [
	'Ada',
	'Grace',
	'Alan',
	'Priya',
	'Wei',
	'Sofia',
	'Mateo',
	'Amara',
	'Lars',
	'Yuki',
	'Omar',
	'Chloe',
	'Daniel',
	'Fatima',
	'Noah',
	'Ines',
	'Ravi',
	'Elena',
	'Kwame',
	'Hannah',
	'Diego',
	'Mei',
	'Lukas',
	'Aisha'
] as const;

export const LAST_NAMES = [
	'Lovelace',
	'Hopper',
	'Turing',
	'Sharma',
	'Zhang',
	'Rossi',
	'Garcia',
	'Okafor',
	'Nilsson',
	'Tanaka',
	'Haddad',
	'Martin',
	'Cohen',
	'Rahman',
	'Miller',
	'Costa',
	'Iyer',
	'Petrova',
	'Mensah',
	'Schmidt',
	'Lopez',
	'Chen',
	'Weber',
	'Khan'
] as const;

export type Seniority = 'Entry' | 'Mid' | 'Senior' | 'Manager' | 'Director' | 'VP' | 'C-Level' | 'Founder';

export interface TitleEntry {
	title: string;
	seniority: Seniority;
	department: string;
}

export const TITLES: readonly TitleEntry[] = [
	{ title: 'Software Engineer', seniority: 'Mid', department: 'Engineering' },
	{ title: 'Senior Software Engineer', seniority: 'Senior', department: 'Engineering' },
	{ title: 'Staff Engineer', seniority: 'Senior', department: 'Engineering' },
	{ title: 'Engineering Manager', seniority: 'Manager', department: 'Engineering' },
	{ title: 'VP of Engineering', seniority: 'VP', department: 'Engineering' },
	{ title: 'Chief Technology Officer', seniority: 'C-Level', department: 'Engineering' },
	{ title: 'Account Executive', seniority: 'Mid', department: 'Sales' },
	{ title: 'Head of Sales', seniority: 'Director', department: 'Sales' },
	{ title: 'Sales Development Representative', seniority: 'Entry', department: 'Sales' },
	{ title: 'Product Manager', seniority: 'Mid', department: 'Product' },
	{ title: 'Director of Product', seniority: 'Director', department: 'Product' },
	{ title: 'Marketing Manager', seniority: 'Manager', department: 'Marketing' },
	{ title: 'Chief Marketing Officer', seniority: 'C-Level', department: 'Marketing' },
	{ title: 'Data Scientist', seniority: 'Mid', department: 'Data' },
	{ title: 'Head of Data', seniority: 'Director', department: 'Data' },
	{ title: 'Operations Manager', seniority: 'Manager', department: 'Operations' },
	{ title: 'Chief Executive Officer', seniority: 'C-Level', department: 'Executive' },
	{ title: 'Co-Founder & CEO', seniority: 'Founder', department: 'Executive' },
	{ title: 'Recruiter', seniority: 'Mid', department: 'People' },
	{ title: 'Customer Success Manager', seniority: 'Manager', department: 'Customer Success' }
];

export const DEGREES = ['BSc', 'BA', 'BEng', 'BS', 'MSc', 'MBA', 'PhD'] as const;

export const MAJORS = [
	'Computer Science',
	'Economics',
	'Mechanical Engineering',
	'Mathematics',
	'Business Administration',
	'Physics',
	'Psychology',
	'Electrical Engineering',
	'Statistics',
	'Marketing',
	'Philosophy'
] as const;

export const SKILLS = [
	'Python',
	'TypeScript',
	'Go',
	'SQL',
	'Kubernetes',
	'Machine Learning',
	'B2B Sales',
	'Negotiation',
	'Product Strategy',
	'Growth Marketing',
	'Data Analysis',
	'Public Speaking',
	'Leadership',
	'Salesforce',
	'Figma',
	'AWS',
	'Financial Modeling',
	'Recruiting'
] as const;

export const LANGUAGES = ['English', 'Spanish', 'French', 'German', 'Mandarin', 'Hindi', 'Portuguese', 'Hebrew', 'Japanese'] as const;

export const COMPANY_WORDS = [
	'Northwind',
	'Bluepeak',
	'Lumen',
	'Quanta',
	'Brightline',
	'Cobalt',
	'Evergreen',
	'Helix',
	'Ironclad',
	'Meridian',
	'Nimbus',
	'Orbital',
	'Pinnacle',
	'Redwood',
	'Summit',
	'Vertex'
] as const;

export const COMPANY_SUFFIXES = ['Labs', 'Systems', 'Analytics', 'Software', 'Health', 'Robotics', 'AI', 'Logistics'] as const;

export const INDUSTRIES = [
	'Software',
	'Financial Services',
	'Healthcare',
	'E-commerce',
	'Artificial Intelligence',
	'Logistics',
	'Cybersecurity',
	'Education',
	'Marketing Technology',
	'Manufacturing'
] as const;

export const TECHNOLOGIES = [
	'React',
	'Node.js',
	'PostgreSQL',
	'AWS',
	'Google Cloud',
	'Snowflake',
	'HubSpot',
	'Salesforce',
	'Stripe',
	'Kubernetes',
	'Python',
	'Segment'
] as const;

/** Neutral phrases for struct fields the simulator has no heuristic for. */
export const EVIDENCE_PHRASES = [
	'mentioned on the company team page',
	'noted in a 2024 conference talk abstract',
	'inferred from recent LinkedIn activity',
	'stated in a podcast interview',
	'listed in a press release about a recent hire',
	'described in a personal blog post'
] as const;
