"""Generate the everyday-documents retrieval benchmark (deterministic; run it to rebuild the files).

    python benchmarks/everyday/make_everyday.py

A small invented world (an engineering and fit-out company, its staff, projects, suppliers and
clients, plus a few households) is written out as everyday documents: meeting notes, status
reports, e-mails, HR and onboarding notes, newsletters, 1:1 notes, purchase notes, trip notes,
incident reports, household notes and recipes, invoices, and notes with no benchmark facts at
all. No document is titled after an entity it is about. Every fact a question asks about is
stated in exactly one document (entities themselves recur in many), so a question's gold titles
are exact. Two-hop questions chain two facts stated in two different documents; comparison
questions need one document per compared entity.

Writes, next to this script: ``corpus.jsonl`` (``{id, title, text}``), ``questions.jsonl`` (all
questions), ``questions_en.jsonl`` and ``questions_zh.jsonl`` (the English and Chinese subsets),
in the normalized format of ``shared/data/README.md``. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

SEED = 1414
HERE = Path(__file__).resolve().parent

# --------------------------------------------------------------------------------------------
# The world (English part)
# --------------------------------------------------------------------------------------------

# name -> gender (for pronouns)
STAFF = {
    "Zofia Novak": "f", "Tomasz Novak": "m", "Priya Raman": "f", "Priya Ramesh": "f",
    "Daniel Okafor": "m", "Hannah Lindqvist": "f", "Marcus Hale": "m", "Aiko Tanaka": "f",
    "Rafael Ortega": "m", "Grace Mbeki": "f", "Felix Romero": "m", "Elif Demir": "f",
    "Lena Brandt": "f", "Omar Haddad": "m", "Sophie Laurent": "f", "Kwame Asante": "m",
    "Ines Carvalho": "f", "Viktor Petrov": "m", "Nadia Petrova": "f", "Mateo Silva": "m",
    "Yusuf Karim": "m", "Rosa Delgado": "f", "Arjun Mehta": "m", "Mei Lin": "f",
    "Samuel Whitfield": "m",
}
EXTERNAL = {
    "Jonas Weber": "m", "Petra Keller": "f", "Beatriz Duarte": "f", "Carlos Ibáñez": "m",
    "Ingrid Solberg": "f", "Kaarel Tamm": "m", "Ben Carter": "m", "Abena Osei": "f",
    "Chloe Dubois": "f", "Sam Pryce": "m", "Leo Marchetti": "m",
}
GENDER = {**STAFF, **EXTERNAL}
# first names shared by two people: always write these in full
AMBIGUOUS_FIRST = {"Priya"}

# project -> (lead, supplier, client, budget, launch, supplied item, short description)
PROJECTS = {
    "Harbor": ("Zofia Novak", "Keller Metals", "Mosaic Hotels", "€240,000", "14 October 2024",
               "steel brackets", "the hotel lobby refit"),
    "Lantern": ("Priya Raman", "Duarte Logistics", "Greystone Clinic", "€95,000", "3 June 2024",
                "cold-chain transport", "the clinic logistics pilot"),
    "Orchard": ("Daniel Okafor", "Sunfield Packaging", "Tillmore Foods", "€410,000", "1 February 2025",
                "compostable trays", "the packaging redesign"),
    "Meridian": ("Hannah Lindqvist", "Halvorsen Marine", "Alba Ferries", "€1.2 million",
                 "30 September 2024", "deck fittings", "the ferry retrofit"),
    "Falcon": ("Marcus Hale", "Corvid Security", "Pemberton Bank", "€680,000", "20 January 2025",
               "door access panels", "the branch security upgrade"),
    "Juniper": ("Aiko Tanaka", "Vantage Print", "Quillon Museum", "€55,000", "12 July 2024",
                "large-format prints", "the exhibition build"),
    "Copperleaf": ("Rafael Ortega", "Osei Textiles", "Linden & Roe", "€130,000", "8 November 2024",
                   "upholstery fabric", "the store furnishing programme"),
    "Saltmarsh": ("Grace Mbeki", "Pinecrest Software", "Riverbend School District", "€310,000",
                  "17 March 2025", "timetabling licences", "the school timetabling rollout"),
    "Bluebell": ("Felix Romero", "Tidewell Catering", "Sable Airlines", "€72,000", "26 August 2024",
                 "menu samples", "the airline menu trial"),
    "Kestrel": ("Elif Demir", "Redline Couriers", "Northgate Housing Trust", "€150,000",
                "5 December 2024", "secure document runs", "the housing records move"),
}
BUDGET_VALUE = {"€240,000": 240, "€95,000": 95, "€410,000": 410, "€1.2 million": 1200, "€680,000": 680,
                "€55,000": 55, "€130,000": 130, "€310,000": 310, "€72,000": 72, "€150,000": 150}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]

# organisation -> (city, contact or None)
ORGS = {
    "Keller Metals": ("Graz", "Jonas Weber"),
    "Keller Plastics": ("Linz", "Petra Keller"),
    "Duarte Logistics": ("Porto", "Beatriz Duarte"),
    "Sunfield Packaging": ("Valencia", "Carlos Ibáñez"),
    "Halvorsen Marine": ("Bergen", "Ingrid Solberg"),
    "Corvid Security": ("Tallinn", "Kaarel Tamm"),
    "Vantage Print": ("Leeds", "Ben Carter"),
    "Osei Textiles": ("Kumasi", "Abena Osei"),
    "Pinecrest Software": ("Ottawa", "Chloe Dubois"),
    "Tidewell Catering": ("Bristol", "Sam Pryce"),
    "Redline Couriers": ("Manchester", "Leo Marchetti"),
    "Mosaic Hotels": ("Lyon", None),
    "Greystone Clinic": ("Cork", None),
    "Tillmore Foods": ("Utrecht", None),
    "Alba Ferries": ("Split", None),
    "Pemberton Bank": ("Edinburgh", None),
    "Quillon Museum": ("Antwerp", None),
    "Linden & Roe": ("Glasgow", None),
    "Riverbend School District": ("Winnipeg", None),
    "Sable Airlines": ("Nairobi", None),
    "Northgate Housing Trust": ("Sheffield", None),
    "Brennero Caffè": ("Turin", None),
    "Norrland Furniture": ("Umeå", None),
    "Okto Audio": ("Eindhoven", None),
    "Kestrel Networks": ("Reading", None),
    "Fjell Design": ("Oslo", None),
}
ORG_SHORT = {"Duarte Logistics": "Duarte", "Sunfield Packaging": "Sunfield", "Halvorsen Marine": "Halvorsen",
             "Corvid Security": "Corvid", "Vantage Print": "Vantage", "Pinecrest Software": "Pinecrest",
             "Tidewell Catering": "Tidewell", "Redline Couriers": "Redline", "Tillmore Foods": "Tillmore",
             "Pemberton Bank": "Pemberton", "Greystone Clinic": "Greystone"}
STREETS = ["Industriestraße 14", "Rua do Freixo 220", "Avenida del Puerto 51", "Sandviksveien 8",
           "Peterburi tee 46", "Kirkstall Road 90", "Adum Street 12", "Bank Street 300",
           "Feeder Road 5", "Trafford Way 77", "Quai Perrache 19", "Lapps Quay 3", "Catharijnesingel 40",
           "Obala 11", "George Street 101", "Meir 62", "Hope Street 88", "Portage Avenue 410",
           "Moi Avenue 27", "Arundel Gate 6", "Via Nizza 130", "Storgatan 21", "Torenallee 45",
           "Forbury Road 9", "Tollbugata 17", "Wiener Straße 3"]
ORG_STREET = dict(zip(ORGS, STREETS))

# staff profile facts
BORN = {
    "Zofia Novak": "Tbilisi", "Tomasz Novak": "Kraków", "Lena Brandt": "Hamburg", "Omar Haddad": "Amman",
    "Kwame Asante": "Accra", "Sophie Laurent": "Marseille", "Ines Carvalho": "Coimbra",
    "Priya Raman": "Chennai", "Priya Ramesh": "Pune", "Daniel Okafor": "Lagos", "Hannah Lindqvist": "Uppsala",
    "Marcus Hale": "Cardiff", "Aiko Tanaka": "Sapporo", "Grace Mbeki": "Durban", "Elif Demir": "Izmir",
    "Viktor Petrov": "Varna", "Nadia Petrova": "Varna", "Rafael Ortega": "Seville",
    "Felix Romero": "Valparaíso", "Mateo Silva": "Montevideo",
}
REPORTS_TO = {
    "Zofia Novak": "Lena Brandt", "Priya Raman": "Omar Haddad", "Daniel Okafor": "Lena Brandt",
    "Hannah Lindqvist": "Kwame Asante", "Marcus Hale": "Omar Haddad", "Aiko Tanaka": "Zofia Novak",
    "Rafael Ortega": "Sophie Laurent", "Grace Mbeki": "Kwame Asante", "Felix Romero": "Ines Carvalho",
    "Elif Demir": "Marcus Hale", "Viktor Petrov": "Priya Raman", "Nadia Petrova": "Hannah Lindqvist",
    "Mateo Silva": "Daniel Okafor", "Yusuf Karim": "Omar Haddad", "Priya Ramesh": "Sophie Laurent",
    "Tomasz Novak": "Ines Carvalho", "Arjun Mehta": "Grace Mbeki", "Mei Lin": "Lena Brandt",
    "Samuel Whitfield": "Rafael Ortega",
}
JOINED = {  # (year, month)
    "Zofia Novak": (2019, 3), "Priya Raman": (2020, 9), "Daniel Okafor": (2017, 1),
    "Hannah Lindqvist": (2018, 6), "Marcus Hale": (2016, 11), "Aiko Tanaka": (2021, 4),
    "Rafael Ortega": (2022, 2), "Grace Mbeki": (2015, 8), "Felix Romero": (2023, 1), "Elif Demir": (2020, 2),
    "Priya Ramesh": (2021, 10), "Tomasz Novak": (2022, 7), "Viktor Petrov": (2023, 5),
    "Nadia Petrova": (2019, 11), "Mateo Silva": (2024, 1), "Yusuf Karim": (2018, 2), "Mei Lin": (2022, 9),
    "Arjun Mehta": (2021, 1), "Samuel Whitfield": (2017, 9),
}
STUDIED = {
    "Zofia Novak": "Jagiellonian University", "Priya Raman": "IIT Madras", "Daniel Okafor": "the University of Leeds",
    "Hannah Lindqvist": "Uppsala University", "Marcus Hale": "the University of Bristol",
    "Aiko Tanaka": "Hokkaido University", "Grace Mbeki": "the University of Cape Town",
    "Elif Demir": "Boğaziçi University", "Viktor Petrov": "Sofia University", "Mateo Silva": "Universidad de la República",
}
SPEAKS = {"Zofia Novak": "Georgian and Polish", "Aiko Tanaka": "Japanese", "Rafael Ortega": "Spanish and Catalan",
          "Elif Demir": "Turkish and German", "Kwame Asante": "Twi"}
PRODUCTS = {  # product -> (maker, price)
    "Vela 2 espresso machine": ("Brennero Caffè", "€1,150"),
    "Pika label printer": ("Vantage Print", "€329"),
    "Aster standing desk": ("Norrland Furniture", "€740"),
    "Nimbus headset": ("Okto Audio", "€165"),
    "Tern 3 router": ("Kestrel Networks", "€410"),
    "Lumo desk lamp": ("Fjell Design", "€89"),
}


@dataclass(frozen=True)
class Fact:
    rel: str
    s: str
    o: str


def world_facts() -> list[Fact]:
    facts: list[Fact] = []
    for p, (lead, sup, client, budget, launch, _item, _desc) in PROJECTS.items():
        facts += [Fact("leads", lead, p), Fact("supplier", p, sup), Fact("client", p, client),
                  Fact("budget", p, budget), Fact("launch", p, launch)]
    for org, (city, contact) in ORGS.items():
        facts.append(Fact("based_in", org, city))
        if contact:
            facts.append(Fact("contact", org, contact))
    facts += [Fact("born_in", p, c) for p, c in BORN.items()]
    facts += [Fact("reports_to", p, m) for p, m in REPORTS_TO.items()]
    facts += [Fact("joined", p, f"{MONTHS[m - 1]} {y}") for p, (y, m) in JOINED.items()]
    facts += [Fact("studied", p, u) for p, u in STUDIED.items()]
    facts += [Fact("speaks", p, lang) for p, lang in SPEAKS.items()]
    for prod, (maker, price) in PRODUCTS.items():
        facts += [Fact("made_by", prod, maker), Fact("price", prod, price)]
    return facts


# --------------------------------------------------------------------------------------------
# Hand-written documents: trips, incidents, household notes, invoices (English)
# Each lists the facts it states (rel, subject, object) for the gold labels.
# --------------------------------------------------------------------------------------------

HANDWRITTEN: list[tuple[str, str, list[tuple[str, str, str]]]] = [
    ("Notes from Lisbon", """Trip notes, Ines Carvalho, 11 to 13 April

Flew out of Bristol at 6:40, which was a mistake; next time take the later flight. Checked into Casa do Largo around lunchtime. Small place on a steep street in Alfama, clean, quiet at night, breakfast on a terrace with a view of the river. Would book again.

Day 1 was mostly the distributor meeting. They want monthly volumes instead of quarterly and are fine with the new labelling. I promised a written summary by Friday.

Day 2: walked the warehouse district with the broker. Two options, both too far from the motorway for my taste. Dinner at a tiny seafood place near the river, ask me for the name.

Expenses: taxis were cheap, the museum I paid myself. Receipts are in the shared folder. Note for Tomasz: the pallet labels they showed us use the same barcode format as ours, so nothing to change on the scanners.""",
     [("hotel", "Ines Carvalho", "Casa do Largo")]),
    ("Graz visit, day 2", """Zofia's notes, Tuesday

Second day here. Keller Metals is based in Graz, a family firm of about 80 people with everything under one roof in an industrial park south of the centre. Their head of production walked us through the bending line; tolerances look better than the samples suggested. The commercial questions wait until next week, nobody from sales was in.

Hotel Murblick was fine: small rooms, very good breakfast, fifteen minutes' walk to the tram. I take the 7:10 train back to Vienna for the flight tomorrow.

Open points:
- ask for the inspection certificates in English
- check whether they can hold prices until spring
- send photos of the finish samples to the team

Side note: their canteen serves the best pumpkin-seed soup I have had in years.""",
     [("based_in", "Keller Metals", "Graz"), ("hotel", "Zofia Novak", "Hotel Murblick")]),
    ("Train to Bergen, notes", """Hannah Lindqvist, 4 to 6 June

Took the train from Oslo instead of flying. Seven hours, worth every minute, although the wifi gave up after Geilo. Bring snacks, the cafe car ran out of everything.

Stayed at Bryggen Lodge, right on the old wharf. The rooms are tiny and the floors creak, but you can see the fish market from the window.

The yard visit: Halvorsen Marine has its offices and the workshop in Bergen, on the south side of the harbour. Ingrid gave us the tour. The welding quality is excellent; the paperwork less so. We agreed they send weekly photos during fabrication.

It rained for three days straight. Everyone there says that is normal.

Next time: book the yard visit for a Tuesday, Mondays they are busy with deliveries.""",
     [("based_in", "Halvorsen Marine", "Bergen"), ("hotel", "Hannah Lindqvist", "Bryggen Lodge")]),
    ("Tallinn, two days", """Trip write-up from Marcus Hale

Short one. Landed Wednesday morning, straight to the client demo, back Thursday night.

Corvid Security is headquartered in Tallinn, in a converted factory near the port. Their lab is impressive: they test every door panel against a rig that opens and closes it 50,000 times. Kaarel showed us the new firmware; badge reads are noticeably faster.

Hotel Vana Tulli in the old town, walkable from everything, though the cobblestones are hard on a suitcase. Sauna on the top floor, which I did not have time for.

Follow-ups:
1. send them our floor plans (redacted)
2. confirm the installation crew sizes
3. ask about spare parts held locally

Food was excellent. Try the black bread.""",
     [("based_in", "Corvid Security", "Tallinn"), ("hotel", "Marcus Hale", "Hotel Vana Tulli")]),
    ("Porto trip report", """From: Priya Raman
Dates: 18 to 20 March

Purpose: meet the transport team and see the cold-chain setup before we scale up.

Duarte Logistics is based in Porto; the depot and the control room are in the same building, which makes the temperature monitoring easy to follow. Beatriz walked us through the alarm procedure. Response times are good, under ten minutes in their logs.

Accommodation: Ribeira Guest House, by the river. Noisy on Friday night but otherwise lovely, and cheaper than the business hotel the travel desk suggested.

Things I learned: trucks leave at 4 in the morning to miss the traffic on the bridge; drivers get a bonus for zero temperature alarms.

Total spend was under budget. Receipts uploaded.""",
     [("based_in", "Duarte Logistics", "Porto"), ("hotel", "Priya Raman", "Ribeira Guest House")]),
    ("Notes from Valencia", """Daniel Okafor - site visit, May

Hot. 31 degrees on the second day. Bring a hat next time.

I stayed at Hostal Turia, basic but clean, five minutes from the metro. No breakfast, but the bakery across the street is open from 6.

Sunfield Packaging is based in Valencia: the plant is on the edge of town near the port, offices upstairs. We saw the tray line running with the new fibre mix. Some warping at the corners that they say goes away once the moulds are warm. Carlos promised a second batch of samples.

Paella on the last evening; Mateo would have loved it.

Action: get the lab results on the warping before we sign anything.""",
     [("based_in", "Sunfield Packaging", "Valencia"), ("hotel", "Daniel Okafor", "Hostal Turia")]),
    ("Lyon, client visit", """Samuel Whitfield, notes from the client visit

Mosaic Hotels has its head office in Lyon, in a glass building by the Saône. I met their procurement lead and the regional director for a two-hour review. They are happy overall, a bit worried about the lobby being closed during the school holidays.

Stayed at Hôtel des Canuts up on the Croix-Rousse hill. Lovely but a steep walk after dinner.

They asked for:
- a phasing plan that keeps half the lobby open
- monthly photos
- one named person on our side for snags

Dinner was at a bouchon, very heavy food. Worth it once.""",
     [("based_in", "Mosaic Hotels", "Lyon"), ("hotel", "Samuel Whitfield", "Hôtel des Canuts")]),
    ("Antwerp, install week", """Aiko Tanaka, install diary

Monday. Arrived by train from Brussels. Checked into Hotel Scheldezicht, a small place facing the river, twenty minutes' walk from the site.

Tuesday. The Quillon Museum is in Antwerp's old dock area; the loading bay is narrower than the drawings claimed, so the big panels had to come in through the front. Lost half a day.

Wednesday. Prints mounted in rooms 2 and 3. Two panels had a colour shift, reprint ordered.

Thursday. Lighting check with the museum's technician. Everything dimmed to 50 lux for the paper pieces.

Friday. Walkthrough with the curators, small snag list, train home at 18:04.""",
     [("based_in", "Quillon Museum", "Antwerp"), ("hotel", "Aiko Tanaka", "Hotel Scheldezicht")]),
    # incidents
    ("Postmortem: checkout errors, 14 May", """Summary
For 2 hours 10 minutes on 14 May customers could not complete payments. Orders stayed in the basket; no money was taken twice.

Root cause
The TLS certificate on the payment gateway's internal endpoint expired at 09:00. The renewal reminder went to a distribution list that was deleted last year, so nobody saw it.

Resolution
Viktor Petrov found the expired certificate at 10:40, issued a new one and rotated it on both gateway nodes. Payments recovered at 11:10.

What went well: alerting fired within four minutes.
What went badly: the first hour was spent looking at the database.

Actions
- move every certificate to automatic renewal
- send expiry warnings to the on-call channel, not to a mailing list
- add a dashboard panel for certificate expiry dates""",
     [("cause", "checkout outage on 14 May", "an expired TLS certificate"),
      ("fixed_by", "checkout outage on 14 May", "Viktor Petrov")]),
    ("INC-2291 summary", """Incident: remote access down
When: 2 February, 07:50 to 10:30
Impact: nobody working from home could connect to the VPN; the office network was unaffected.

What happened: an automation script that keeps the firewall configuration in sync pushed a rule that blocked the VPN port. The script had been pointed at the wrong template during a clean-up the week before.

Fix: Yusuf Karim rolled the firewall back to the previous configuration at 10:25 and disabled the script until it has a review step.

Lessons: changes to network templates need a second pair of eyes. The status page was updated late; people found out on the team chat first.

Follow-up owner for the review step: IT.""",
     [("cause", "VPN outage in February", "a firewall rule pushed by a misconfigured automation script"),
      ("fixed_by", "VPN outage in February", "Yusuf Karim")]),
    ("Scanner failure: what happened", """On Monday morning the handheld scanners in the warehouse kept dropping their connection, so picking was done on paper until lunchtime.

The cause was an overnight firmware update on the Tern 3 routers in the warehouse, which changed the default wifi band and left the older scanners unable to connect.

Tomasz Novak spotted the pattern (only the old scanners were affected), downgraded the routers' firmware one by one and had everything back by 12:30.

We lost roughly 140 picks, all caught up by the evening shift. Nobody was hurt and nothing shipped wrongly.

To do: switch off automatic firmware updates on warehouse kit, and budget for replacing the old scanners next year.""",
     [("cause", "warehouse scanner failure", "an overnight firmware update on the Tern 3 routers"),
      ("fixed_by", "warehouse scanner failure", "Tomasz Novak")]),
    ("Review: delayed emails (9 Sep)", """On 9 September outgoing emails were delayed by up to three hours. Internal mail was fine; customers got quotes and invoices late, and two complained.

Why: after we lowered the DNS record lifetimes the day before, our mail relay started looking up records far more often and the DNS provider rate-limited us. Lookups failed, messages queued.

Mateo Silva traced the failures to the rate limits, put the old lifetimes back and flushed the queue. Everything was delivered by 16:00.

Going forward: any DNS change gets a one-day watch on the mail queue, and we are asking the provider for a higher limit.""",
     [("cause", "email delays on 9 September", "rate limiting by the DNS provider"),
      ("fixed_by", "email delays on 9 September", "Mateo Silva")]),
    ("INC-2417: export totals wrong", """Reported by finance on the 3rd: the monthly data export showed totals that did not match the accounting system, off by a few hundred euros each month.

Cause: a timezone conversion bug in the export job. Orders placed between midnight and 1 a.m. local time were counted in the previous month because the job compared dates in UTC.

Arjun Mehta fixed the date handling, re-ran the exports for the last six months and checked them line by line with finance.

No customer impact. The board pack for last quarter has been corrected.

Actions: a test with orders around midnight; the export now logs the timezone it uses.""",
     [("cause", "wrong totals in the monthly data export", "a timezone conversion bug in the export job"),
      ("fixed_by", "wrong totals in the monthly data export", "Arjun Mehta")]),
    ("Basement incident, 3 November", """Sunday night a pipe burst in the ceiling above the basement server room. The cleaners found water on the floor at 6 on Monday.

Rosa Delgado had the water shut off at the main, got the emergency plumber in and moved the two spare servers off the floor before IT arrived. The racks themselves stayed dry thanks to the raised floor.

Damage: carpet in the corridor, one UPS battery, a box of old cables. Insurance is informed.

The landlord is replacing the whole pipe run in December. Until then there is a water sensor on the floor that texts the office manager and IT.""",
     [("cause", "flooding in the server room", "a burst pipe in the ceiling"),
      ("fixed_by", "flooding in the server room", "Rosa Delgado")]),
    ("Post-incident review: double bookings", """For about a week meeting rooms were booked twice. People turned up to find the room taken, which made two client calls start late.

Root cause: a race condition in the calendar sync. When two bookings for the same room arrived within the same second, both were accepted before the room was marked busy.

Elif Demir reproduced it with a small script, added a lock around the booking step and cleaned up the 37 duplicate bookings by hand.

Open question: do we still need the old booking screens outside the rooms? Nobody uses them.

Status: closed.""",
     [("cause", "meeting room double bookings", "a race condition in the calendar sync"),
      ("fixed_by", "meeting room double bookings", "Elif Demir")]),
    # household notes and recipes
    ("Notes for the house sitter", """Thank you so much for doing this!

Pepper (our dog, the scruffy one) gets fed at 7 in the morning and 6 in the evening, one scoop each time, the bag is in the cupboard under the stairs. She will pretend she has not been fed. She has.

Walks: twice a day, she pulls towards the park, just let her. Keep her away from the bins on the corner.

Plants: water the ones on the balcony every other day if it doesn't rain. The fern in the bathroom is fake.

Post: just leave it on the kitchen table.

Spare key is with the neighbour at number 6. Wifi password is on the fridge.

Back on Sunday evening. Call me any time.
Hannah Lindqvist""",
     [("dog", "Hannah Lindqvist", "Pepper")]),
    ("Booster due, reminder", """Pepper's annual booster is due on the 14th. The appointment is booked at Willow Lane Vets with Dr. Amara Osei, 9:20, bring the vaccination card (blue folder, top drawer).

Also ask about:
- the lump on her back leg (probably nothing)
- whether the flea treatment can be switched to tablets
- weight, she has put on a bit since the winter

Last visit was 90 euros all in. They close at noon on Saturdays.""",
     [("vet", "Pepper", "Willow Lane Vets")]),
    ("Things to remember while we're away", """For Sophie Laurent's neighbours, with thanks

Miso (the grey cat) needs half a pouch morning and evening, and fresh water. If she hides under the bed, that's normal, she'll come out when you leave.

Mrs Patel from next door has the key and is watering the tomatoes. Bins go out Tuesday night, green one this week.

The heating is on a timer, please don't touch it. If the boiler shows a red light, press reset once; if it's still red, call the number on the side.

We're back on the 22nd. Help yourself to anything in the fridge.""",
     [("cat", "Sophie Laurent", "Miso")]),
    ("Check-up booked", """Miso has her check-up on Thursday at 17:30 at the Canal Street Animal Clinic. Dr. Hoekstra again, he was good last time.

Bring: the carrier (garage), her vaccination booklet, a towel because she hates the car.

Questions for the vet: she drinks a lot lately, is that the kidneys? And can we stop the special food?

Cost last year: 65 for the check-up, 40 for the blood test.""",
     [("vet", "Miso", "Canal Street Animal Clinic")]),
    ("Sunday soup", """The one Ines makes every Sunday in winter, her grandmother's caldo verde.

Serves 4:
- 4 floury potatoes, peeled and chopped
- 1 onion, 2 garlic cloves
- a big bunch of kale or collard greens, sliced as thin as you possibly can
- a chouriço, sliced (not chorizo, it has to be the Portuguese one)
- good olive oil, salt

Soften the onion and garlic in oil, add the potatoes and a litre and a half of water, simmer until soft, then mash or blend. Add the greens for only 3 or 4 minutes so they stay bright. Fry the chouriço separately and put it on top with a drizzle of oil.

Eat with cornbread. Better the next day.""",
     [("soup_sausage", "Ines Carvalho", "chouriço")]),
    ("Plum cake (Oma's version)", """Lena Brandt's note to self, from Oma's handwritten card

The night before: soak a handful of raisins in rum, covered, on the counter.

Dough: 250 g flour, 125 g butter, 100 g sugar, 1 egg, a pinch of salt, half a packet of baking powder. Knead quickly, rest for 30 minutes in the fridge.

Press into the tin with a rim. Halve and stone about a kilo of plums, set them in tight rows, skin side down. Scatter the drained raisins on top. Crumble: more butter, flour and sugar, rubbed with cinnamon.

45 minutes at 180. Let it cool before cutting or it falls apart. Whipped cream, always.""",
     [("raisin_soak", "Lena Brandt", "rum")]),
    ("Kitchen renovation quotes", """Omar Haddad - kitchen, quotes received

1. Birchwood Kitchens: 14,200 including worktops and fitting, 6 weeks lead time, they want 40% up front.
2. Hale & Sons Joinery: 11,900 for the same spec, oak instead of laminate on the island, 8 weeks lead time, 20% deposit.
3. The big DIY chain: 9,300 but we fit it ourselves. No.

Decision after talking it through on Sunday: we go with Hale & Sons Joinery. Slower, but better wood and the lower deposit.

Still to do: choose the tiles, book the electrician for the extra sockets, move the fridge to the garage during the works.""",
     [("kitchen", "Omar Haddad", "Hale & Sons Joinery")]),
    ("Car service reminder", """Marcus Hale - car

The old Volvo is due its service and MOT in the first week of March. Booked at Pennant Motors as usual, drop-off at 8, they say it'll be ready by 4.

Mention: the squeak from the front left when braking, the rear wiper, and the warning light that comes on when it's cold.

Insurance renewal is in April, compare before auto-renewing.

Tyres were done last autumn, should be fine.""",
     [("garage", "Marcus Hale", "Pennant Motors")]),
    ("Ada turns 7, plan", """Daniel and Funmi's list for Ada's birthday

Party: Saturday 2 to 4 at Riverside Bowling, two lanes booked, 12 kids max. Deposit paid.

Cake: chocolate with strawberries, ordered at the bakery on Mill Road, Daniel picks it up at 11.

Invitations: hand them out at school on Monday. Ask the parents about allergies (one nut allergy we know of).

Party bags: stickers, bubbles, a small book each. No plastic toys this year.

Grandma arrives Friday evening; spare room needs making up.""",
     [("party_venue", "Daniel Okafor", "Riverside Bowling")]),
    ("Allotment diary, May", """Grace Mbeki - plot 17, Ferncliffe allotments

3 May: dug over the bed by the shed, two barrows of compost in. Potatoes (Charlotte) planted in two rows.

10 May: beans up. Slugs have had the lettuce. Beer traps set.

18 May: tomatoes out at last, Black Krim and Sungold, under the fleece at night for a week.

25 May: the committee wants everyone to clear their paths before the open day in June. Our water butt is leaking at the tap.

Note: borrow the long ladder from plot 12 to fix the shed roof.""",
     [("allotment", "Grace Mbeki", "Ferncliffe")]),
    # invoices and money
    ("Invoice batch, March", """Invoices approved for payment this month (all VAT included):

- Tidewell Catering, INV-8841: 2,340.00, food and staff for the spring open evening.
- Redline Couriers, monthly statement: 612.50, same-day runs and two weekend pickups.
- Vantage Print, 2024-0317: 1,480.00, 200 brochures and the new business cards.
- Brennero Caffè: 190.00, service visit for the coffee machine in the kitchen.
- Osei Textiles: 2,955.00, fabric samples and swatch books, approved by procurement.

Held back: the cleaning company's invoice, because the hours don't match the sign-in sheet. Waiting for a corrected copy.

Payment run on the 28th.""",
     [("invoice", "Vantage Print", "€1,480"), ("invoice", "Tidewell Catering", "€2,340")]),
    ("Re: unpaid invoice INV-2024-118", """Hi,

Okto Audio has chased us a second time about INV-2024-118, 3,960 euros for the 24 headsets delivered in January. I checked: the goods were received and signed for, but the invoice was sent to the old accounts address and never entered.

I've entered it now and flagged it for the next payment run. Could you send them a short apology? They've been patient.

Also, going forward please make sure suppliers have the new address (accounts@ instead of invoices@).

Thanks,
Priya Ramesh""",
     [("chasing", "INV-2024-118", "Okto Audio")]),
    ("Expense claims Q1, notes", """Notes on the first-quarter expense claims.

Samuel Whitfield: train tickets to London for the trade fair, two nights at the hotel, taxi from the station. All fine. The dinner receipt was missing, claim approved without it this once.

Felix Romero: a claim for a new laptop bag; not covered by the policy, returned.

Nadia Petrova: art supplies for the exhibition mock-ups, 212 euros, approved.

Reminder for everyone: claims older than 60 days are not paid. Mileage is 0.30 per km since January.""",
     [("expense", "Nadia Petrova", "art supplies")]),
]

# --------------------------------------------------------------------------------------------
# Phrasings: {S}/{s} subject mention (capitalised or not), {O}/{o} object mention,
# {S_pos}/{s_pos} possessive subject, {he}/{his}/{him} subject pronouns, {item}, {s_bare}, {street}
# --------------------------------------------------------------------------------------------

PHRASES: dict[str, list[str]] = {
    "leads": [
        "{S} leads {o}.", "{O} is now run by {s}.", "{S} is in charge of {o} from this month.",
        "{S} has taken over as lead on {o}.", "{O}: project owner is {s}.",
        "{S} will be running {o} day to day, so scope questions go to {him}.",
        "Anything about {o} should go through {s}, who heads the project.", "{S} is the project lead for {o}.",
        "Since {s} took the helm of {o}, the weekly reports have got a lot shorter.",
        "{S} now manages {o} end to end.",
    ],
    "supplier": [
        "{O} is the supplier for {s}.", "For {s} we buy the {item} from {o}.", "{S} sources its {item} from {o}.",
        "{O} supplies the {item} for {s}; the next delivery is due in two weeks.", "Supplier on {s}: {o}.",
        "We signed the supply contract for {s} with {o} on Monday.", "All the {item} for {s} come from {o}.",
        "{O} has been the vendor on {s} since the pilot.",
        "{O} will keep delivering the {item} for {s} at last year's prices.",
    ],
    "based_in": [
        "{S} is based in {o}.", "{S} has its head office in {o}.", "{S} operates out of {o}.",
        "{S} are located in {o}, so deliveries take a few days.", "{S_pos} main site is in {o}.",
        "For the record, {s} is a {o} company.", "{S} moved everything to new premises in {o} last year.",
        "Postal address for {s}: {street}, {o}.",
    ],
    "client": [
        "{S} is being delivered for {o}.", "The client on {s} is {o}.", "{O} is the customer for {s}.",
        "{O} signed the statement of work for {s}.", "We are doing {s} for {o}.",
        "{S} (client: {o}) is on track for the next milestone.", "{O} commissioned {s} last autumn.",
        "{O} are paying for {s}, so their sign-off is what counts.",
    ],
    "budget": [
        "The budget for {s} is {o}.", "{S} has a budget of {o}.", "{S} budget: {o}, approved by the board.",
        "We have {o} to spend on {s} in total.", "Finance confirmed {o} for {s}.",
        "{S} was approved at {o}, contingency included.", "Total spend allowed on {s}: {o}.",
    ],
    "launch": [
        "{S} goes live on {o}.", "Launch date for {s}: {o}.", "{S} is scheduled to launch on {o}.",
        "We're targeting {o} for the {s_bare} go-live.", "{S} launches on {o}, assuming nothing slips.",
        "The {s_bare} release is pencilled in for {o}.", "Go-live for {s} is fixed: {o}.",
    ],
    "contact": [
        "Our contact at {s} is {o}.", "{O} is our account manager at {s}.", "At {s}, talk to {o}.",
        "{O} from {s} will handle our orders from now on.", "{O} ({s}) is the person to call about deliveries.",
        "New point of contact at {s}: {o}.", "{S} has assigned {o} to look after our account.",
    ],
    "reports_to": [
        "{S} reports to {o}.", "{O} is {s_pos} manager.", "{S_pos} line manager is {o}.",
        "{S} will report directly to {o}.", "Manager for {s}: {o}.", "{S_pos} manager is now {o}.",
        "{S} sits in the team run by {o}.",
    ],
    "born_in": [
        "{S} was born in {o}.", "{S} is originally from {o}.", "{S} grew up in {o}, where {he} was born.",
        "Born in {o}, {s} moved around a lot as a kid.", "{S} is a native of {o}.",
        "{S} was born and raised in {o}.", "{S} told us {he} was born in {o}.",
        "{S_pos} hometown is {o}; {he} was born there.",
    ],
    "joined": [
        "{S} joined us in {o}.", "{S} started with the company in {o}.", "{S} has been with us since {o}.",
        "{S} came on board in {o}.", "{S_pos} first month here was {o}.", "{S} joined the company in {o}.",
        "Start date for {s}: {o}.",
    ],
    "studied": [
        "{S} studied at {o}.", "{S} is a graduate of {o}.", "{S} did {his} degree at {o}.",
        "{S} has a master's from {o}.", "{S} went to university at {o}.",
    ],
    "speaks": [
        "{S} speaks {o}.", "{S} is fluent in {o}.", "{S} can help with anything in {o}.",
        "{S} speaks {o} at home.",
    ],
    "made_by": [
        "The {s} is made by {o}.", "{O} makes the {s}.", "We ordered the {s}, which {o} manufactures.",
        "{s} (manufacturer: {o}).", "The {s} comes from {o}.", "{O} builds the {s} in-house.",
    ],
    "price": [
        "The {s} costs {o}.", "{s}: {o} per unit.", "We paid {o} for each {s}.", "The {s} is listed at {o}.",
    ],
}

RECORD_LABELS = {
    "born_in": ["Place of birth", "Born in", "Born"], "studied": ["Education", "Studied at", "University"],
    "joined": ["Start date", "Joined", "Started"], "speaks": ["Languages", "Speaks"],
    "reports_to": ["Reports to", "Manager", "Line manager"],
}

FILLERS: dict[str, list[str]] = {
    "meeting": [
        "{P} will send round the updated slides before Thursday.",
        "Coffee machine on the third floor is still broken; facilities have been chased again.",
        "Nobody has booked the big room for the offsite yet. {P} volunteered.",
        "The {proj} risk log hasn't been touched in a month. Please update it.",
        "{org} sent their holiday closing dates; they are shut between 23 December and 2 January.",
        "Reminder: expense claims for last month must be in by the 5th.",
        "Short discussion about the hybrid working policy, no decision yet.",
        "{P} is out from Wednesday to Friday, cover arranged.", "Fire drill next Tuesday at 11:00.",
        "{proj} retro moves to Thursday afternoon.",
        "{P} asked whether we need a second test environment. Parked for now.",
        "Agreed to start this meeting at 9:30 from next week.",
        "IT will replace the old screens in the meeting rooms over the summer.",
        "Thanks to {P} for organising the team lunch.", "Quarter-end numbers look fine; nothing to escalate.",
        "{P} reminded everyone to fill in the engagement survey.",
        "Printer on the second floor jams on double-sided jobs. Use the one by the kitchen.",
        "The {proj} wiki page is out of date; {P} will tidy it up.",
        "AOB: parking permits for next year need renewing by the end of the month.",
        "Hiring: two interviews this week for the analyst role, one offer out.",
        "Timesheets were late again for three people. Please do them on Fridays.",
        "Long debate about moving the all-hands to the afternoon. Leaving it as is.",
        "Client feedback survey closes on the 30th; response rate is 41% so far.",
        "Q3 planning template goes out next week, fill in by the 15th.",
        "{P} demoed the new reporting view; everyone liked the filters.",
        "Laptop refresh: old machines must be handed back by Friday.",
        "Action from last week on the travel policy is still open.",
    ],
    "status": [
        "Overall status remains amber because of resourcing.", "No change to the critical path this week.",
        "Testing capacity is the main constraint; two testers are off sick.",
        "The {proj} dashboard now refreshes nightly.", "Two change requests came in and were rejected as out of scope.",
        "{org} has asked for updated forecasts for next quarter.",
        "Risk: key-person dependency. {P} is the only one who knows the old reporting scripts.",
        "Next steering committee is on the 21st at 14:00.", "Spend to date is in line with the forecast.",
        "Open actions from last week: 4 closed, 2 still open.",
        "Lessons-learned session for {proj} scheduled for the end of the month.",
        "Holiday season will slow approvals; plan for it.", "Headcount is flat; one contractor leaves on Friday.",
        "The shared drive reorganisation is finished; links in old emails may break.",
        "Overall RAG: green, with one amber item on procurement.",
        "Milestone 3 was signed off a week late, no knock-on effect expected.",
        "We are still waiting for the legal review of the data-sharing clause.",
        "Three new risks logged, none rated high.", "The weekly burn rate went down after the contractor cut.",
        "Training for the support team is booked for the second week of next month.",
        "{proj} issue count: 14 open, 9 closed this week.",
        "Benefits tracking starts once the first site is live.",
    ],
    "email": [
        "Sorry for the slow reply, it has been a week.", "Let me know if Thursday works for a quick call.",
        "I've attached the notes from last time.", "{P} is copied in case I've missed anything.",
        "Hope the move went OK!", "Can you check whether {org} has sent the signed copy back?",
        "No rush on this, next week is fine.", "Happy to talk it through if it's easier.",
        "I'll be offline from Friday afternoon.", "One more thing: the shared folder has moved.",
        "Thanks again for your help with the {proj} numbers.", "Let's keep this thread for the decision only.",
        "I've put a placeholder in your calendar.", "Shout if anything looks wrong.",
        "Just a quick note before I forget.", "Following up on what we discussed in the corridor.",
        "The spreadsheet is in the usual place, tab three.", "Apologies if you got this twice.",
        "I'm in the office Tuesday and Wednesday if you want to pop by.",
        "{P} mentioned you might have the latest version.", "Can we move our catch-up to the afternoon?",
        "I've updated the tracker with the new dates.", "Fingers crossed for the board on Monday.",
    ],
    "hr": [
        "Laptop and badge are ordered; IT needs two working days.", "Buddy for the first month: {P}.",
        "Mandatory trainings: security awareness, fire safety, data protection.",
        "Desk on the third floor by the window.", "Payroll cut-off is the 20th of each month.",
        "Please add the new starter to the team channel and the Friday lunch list.",
        "Probation review after three months.", "Holiday allowance is 27 days plus public holidays.",
        "The org chart on the intranet will be updated by {P}.",
        "Remember to collect the signed contract before day one.",
        "Pension enrolment happens automatically after the first month.",
        "The handbook was updated in January; the travel section changed.",
        "First-week lunch with the team is on the Wednesday.",
        "Parking space only on request, there is a waiting list.",
        "Access to the finance system needs a separate request.",
    ],
    "newsletter": [
        "The summer party is on 12 July at the boathouse. Partners welcome.",
        "Book club this month: a short one, come along even if you haven't finished it.",
        "The kitchen fridge gets cleared every Friday at 4. You have been warned.",
        "Congratulations to {P} on finishing the half marathon!",
        "New bike racks are in the courtyard.", "The quiz team came third again. Next year.",
        "Cake Friday this week is sponsored by {P}.", "We raised 1,240 euros for the food bank. Thank you all.",
        "The lifts will be serviced on Saturday; use the stairs if you're in.",
        "Welcome back to everyone returning from parental leave.",
        "The photo competition theme is 'windows'. Entries by the 20th.",
        "Yoga on Tuesdays at 8 in the big room, mats provided.",
        "The canteen now has a vegan option every day.",
    ],
    "oneonone": [
        "Talked about workload; it's fine for now but the next two months look busy.",
        "Wants to do a presentation course this year. Budget available.",
        "Feedback from the last review was taken well.", "Asked about working from home on Fridays. OK.",
        "Next 1:1 in two weeks.", "Wants more exposure to client meetings.",
        "Mentioned that {P} has been very helpful.", "Holiday in August, two weeks.",
        "Goal for the quarter: document the handover process.",
        "Finds the Monday meetings too long. Fair point.", "Interested in mentoring a junior colleague.",
        "Would like a second monitor at home.", "We agreed to revisit the promotion case in the autumn.",
    ],
    "purchase": [
        "Delivery to the loading bay, not reception.", "Payment terms: 30 days from invoice.",
        "Quote valid until the end of the month.", "Approved by {P}.", "Order placed through the usual portal.",
        "Shipping included above 500 euros.", "Procurement wants three quotes for anything over 5,000.",
        "The old units go to the IT recycling cage.", "Warranty: two years, parts and labour.",
        "Budget code: facilities, general.", "Partial delivery accepted; the rest follows next week.",
        "Invoice to accounts@, not to the requester.",
    ],
    "facilities": [
        "The lifts will be serviced on Saturday morning.", "Please don't prop the fire doors open.",
        "New desk booking rules from Monday: book by 10 the day before.",
        "Lost property box is at reception until the end of the month.",
        "The cleaners come at 6 now, so leave the floor clear.", "Heating is being checked on Thursday.",
        "Window cleaning on Wednesday; blinds up, please.", "Bike shed code changes every quarter; ask reception.",
        "{P} is the fire warden for the second floor.", "The wifi password changes on the first of the month.",
        "Meeting rooms must be left as you found them.", "Deliveries after 5 go to the security desk.",
        "The roof terrace is closed until the railings are fixed.",
    ],
    "social": [
        "Pizza or curry? Vote in the channel by noon.", "Bring a dish if you can, labels for allergens please.",
        "{P} has the kitty; five euros each.", "Quiz night starts at 7, teams of four.",
        "Secret Santa limit is 15 euros.", "Partners and kids welcome.", "Board games in the big room after 5.",
        "Photos from last time are in the shared album.", "Sign-up sheet is on the kitchen door.",
        "We need two volunteers to tidy up afterwards.", "Non-alcoholic options will be there too.",
    ],
}

TITLE_POOLS = {
    "meeting": ["Weekly sync {date}", "Ops stand-up, {date}", "Planning meeting: {date}",
                "Leadership check-in {date}", "Delivery review notes ({date})", "Team meeting minutes {date}",
                "Monday huddle {date}", "Steering call, {date}"],
    "status": ["Status report, week {week}", "Monthly update: {month}", "Portfolio status, {month}",
               "Programme office update #{n}", "Delivery dashboard notes, week {week}"],
    "email": ["Re: shipment delay", "Fwd: updated contacts", "Quick question about Thursday", "Re: Re: budget numbers",
              "Intro + next steps", "Catching up", "Heads-up: holiday cover", "Re: the numbers for the board",
              "Following up on Tuesday", "Re: supplier list", "Handover before my leave", "Re: org chart",
              "Small favour", "Re: launch dates", "Fwd: notes from the call", "Re: where are we with this?",
              "Welcome aboard!", "Re: new starter next week", "Fwd: invoice query", "Re: who do I ask about this?",
              "Update from my side", "Re: offsite planning", "Quick one", "Re: timeline", "Re: contract renewal",
              "Fwd: price list", "Re: meeting moved", "Thanks for today", "Re: this week's priorities",
              "Introductions"],
    "hr": ["Onboarding notes, week one ({n})", "New starters, {month} intake", "Team changes ({month})",
           "Org chart update {n}", "Welcome pack draft v{n}", "Probation reviews, {month}",
           "People records cleanup #{n}"],
    "newsletter": ["Friday digest #{n}", "People news, {month}", "Meet the team ({month} edition)",
                   "Office news, issue {n}", "Around the company, {month}"],
    "oneonone": ["1:1 notes, {date}", "Coffee chat notes ({date})", "Mentoring notes, {date}",
                 "Check-in notes {date}"],
    "purchase": ["Purchase order PO-{po} notes", "Procurement log, {month}", "Office equipment order ({month})",
                 "Supplier list clean-up {n}", "Vendor review, {month}"],
    "facilities": ["Desk booking rules", "Office move checklist", "Fire drill notes", "Parking permits 2024",
                   "Building works next month", "Kitchen etiquette (again)", "Wifi and printers FAQ",
                   "Reception handover notes", "Winter heating notes"],
    "social": ["Summer party ideas", "Book club: June pick", "Lunch order Friday", "Quiz night teams",
               "Secret Santa 2024", "Leaving drinks for the interns", "Football five-a-side", "Bake-off rules"],
}

GREETINGS = ["Hi {first},", "Hello {first},", "Dear {first},", "{first},", "Hi all,", "Morning {first},"]
SIGNOFFS = ["Best,", "Thanks,", "Cheers,", "Kind regards,", "Speak soon,", "Thanks a lot,"]


def cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def pron(name: str) -> tuple[str, str, str]:
    return ("she", "her", "her") if GENDER.get(name, "m") == "f" else ("he", "his", "him")


@dataclass
class Doc:
    kind: str
    title: str
    rng: random.Random
    units: list[list[Fact]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    text: str = ""

    # mentions -------------------------------------------------------------------------------
    def person(self, name: str) -> str:
        first = name.split()[0]
        if name in self.seen and first not in AMBIGUOUS_FIRST and self.rng.random() < 0.7:
            return first
        self.seen.add(name)
        return name

    def project(self, name: str) -> str:
        if name in self.seen:
            return self.rng.choice([name, f"the {name} project", name])
        self.seen.add(name)
        return self.rng.choice([name, f"the {name} project", f"project {name}", f"{name} ({PROJECTS[name][6]})",
                                f"the {name} project"])

    def org(self, name: str) -> str:
        if name in self.seen and name in ORG_SHORT and self.rng.random() < 0.5:
            return ORG_SHORT[name]
        self.seen.add(name)
        return name

    def mention(self, value: str) -> str:
        if value in GENDER:
            return self.person(value)
        if value in PROJECTS:
            return self.project(value)
        if value in ORGS:
            return self.org(value)
        return value


def fact_sentence(doc: Doc, f: Fact, pronoun_subject: bool = False) -> str:
    rng = doc.rng
    templates = PHRASES[f.rel]
    if pronoun_subject:
        # only phrasings that open with the subject, and never mention it again
        templates = [t for t in templates if t.startswith(("{S} ", "{S_pos} ")) and "{s" not in t] or templates
        pronoun_subject = all(t.startswith(("{S} ", "{S_pos} ")) and "{s" not in t for t in templates)
    template = rng.choice(templates)
    he, his, him = pron(f.s)
    if pronoun_subject:
        s, s_pos = he, his
    else:
        s = doc.mention(f.s)
        s_pos = s + ("'" if s.endswith("s") else "'s")
    o = doc.mention(f.o)
    item = PROJECTS[f.s][5] if f.s in PROJECTS else ""
    out = template.format(S=cap(s), s=s, O=cap(o), o=o, S_pos=cap(s_pos), s_pos=s_pos, he=he, his=his, him=him,
                          item=item, s_bare=f.s, street=ORG_STREET.get(f.s, ""))
    return cap(out)


def render_unit(doc: Doc, unit: list[Fact]) -> str:
    """One unit: a sentence, a short bio paragraph, or an HR-style record."""
    rng = doc.rng
    if len(unit) == 1:
        return fact_sentence(doc, unit[0])
    subj = unit[0].s
    if doc.kind == "hr" and subj in GENDER and rng.random() < 0.6:
        lines = [f"{rng.choice(['Name', 'New starter', 'Employee', 'Record'])}: {doc.person(subj)}"]
        for f in unit:
            lines.append(f"{rng.choice(RECORD_LABELS[f.rel])}: {doc.mention(f.o)}")
        return "\n".join(lines)
    if subj in GENDER:
        parts = [fact_sentence(doc, unit[0])]
        for f in unit[1:]:
            parts.append(fact_sentence(doc, f, pronoun_subject=rng.random() < 0.6))
        if doc.kind == "newsletter":
            intro = rng.choice(["Meet {n}.", "Say hello to {n}!", "Spotlight: {n}.", "A few words about {n}."])
            parts.insert(0, intro.format(n=subj.split()[0] if subj.split()[0] not in AMBIGUOUS_FIRST else subj))
        return " ".join(parts)
    return " ".join(fact_sentence(doc, f) for f in unit)


def fill(doc: Doc, pool: str, used: set[str]) -> str:
    rng = doc.rng
    choices = [t for t in FILLERS[pool] if t not in used]
    if not choices:
        return ""
    t = rng.choice(choices)
    used.add(t)
    slots = {}
    if "{P}" in t:
        slots["P"] = doc.person(rng.choice(sorted(STAFF)))
    if "{proj}" in t:
        slots["proj"] = rng.choice(sorted(PROJECTS))
        doc.seen.add(slots["proj"])
    if "{org}" in t:
        slots["org"] = doc.org(rng.choice(sorted(ORGS)))
    return t.format(**slots)


def words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def compose(doc: Doc) -> str:
    """Write the document: a kind-specific scaffold around its fact units and filler."""
    rng = doc.rng
    bulleted = doc.kind in ("meeting", "purchase", "facilities", "social")
    target = rng.randint(70, 150) if bulleted else rng.randint(90, 190)
    pool = doc.kind
    used: set[str] = set()
    people = rng.sample(sorted(STAFF), 4)
    # subjects of this document's facts often appear in its header (attendees, recipients)
    for unit in doc.units:
        if unit[0].s in STAFF and rng.random() < 0.5:
            people[rng.randrange(len(people))] = unit[0].s
    people = list(dict.fromkeys(people))
    header: list[str] = []
    if doc.kind == "meeting":
        names = [doc.person(p) for p in people]
        header.append(f"{rng.choice(['Attendees', 'Present', 'In the room'])}: {', '.join(names)}")
        if rng.random() < 0.5:
            header.append(f"Notes: {doc.person(rng.choice(sorted(STAFF)))}")
    elif doc.kind == "email":
        to = rng.choice(people)
        header.append(rng.choice(GREETINGS).format(first=to.split()[0]))
    elif doc.kind == "oneonone":
        header.append(f"With {doc.person(people[0])}. {rng.choice(['30 minutes.', 'Walk and talk.', 'Over coffee.', 'On video.'])}")
    elif doc.kind == "status":
        header.append(rng.choice(["Prepared by the programme office.", "Author: PMO", "Status: draft for Monday."]))

    bodies = [render_unit(doc, u) for u in doc.units]
    n_fill = 0
    while words("\n".join(header + bodies)) < target and n_fill < 12:
        extra = fill(doc, pool, used)
        if not extra:
            break
        bodies.insert(rng.randrange(len(bodies) + 1), extra)
        n_fill += 1

    if bulleted or (doc.kind == "status" and rng.random() < 0.5):
        bullet = rng.choice(["- ", "* ", "• "])
        body = "\n".join(bullet + b.replace("\n", "; ") for b in bodies)
        if doc.kind == "meeting" and rng.random() < 0.6:
            body = rng.choice(["Discussion\n", "Notes\n", "Points\n", ""]) + body
            owner = doc.person(rng.choice(sorted(STAFF)))
            body += f"\n\nActions\n{bullet}{owner} to circulate these notes."
    elif doc.kind == "hr":
        body = "\n\n".join(bodies)
    else:
        # paragraphs of 1 to 3 items
        paras: list[str] = []
        i = 0
        while i < len(bodies):
            n = rng.randint(1, 3)
            paras.append(" ".join(b.replace("\n", "; ") for b in bodies[i : i + n]))
            i += n
        body = "\n\n".join(paras)
    text = "\n".join(header) + ("\n\n" if header else "") + body
    if doc.kind == "email":
        text += f"\n\n{rng.choice(SIGNOFFS)}\n{rng.choice(sorted(STAFF)).split()[0]}"
    return text.strip()


# --------------------------------------------------------------------------------------------
# Chinese part
# --------------------------------------------------------------------------------------------

ZH_PROJECTS = {  # project -> (lead, supplier, client, launch, item)
    "星河项目": ("王建国", "华盛物流", "云帆酒店", "2024年9月15日", "仓储配送"),
    "青松项目": ("李晓梅", "青禾食品", "明德学校", "2024年11月1日", "食材"),
    "蓝鲸项目": ("张伟", "远航科技", "东湖医院", "2025年3月20日", "监控设备"),
    "白鹭项目": ("陈静", "恒通五金", "海川银行", "2024年12月8日", "门窗五金"),
    "金桂项目": ("刘洋", "嘉禾印刷", "南山图书馆", "2025年1月10日", "展板印刷"),
}
ZH_ORGS = {"华盛物流": "宁波", "华晟物流": "温州", "青禾食品": "成都", "远航科技": "深圳", "恒通五金": "佛山",
           "嘉禾印刷": "苏州", "云帆酒店": "厦门", "明德学校": "西安", "东湖医院": "武汉"}
ZH_BORN = {"王建国": "哈尔滨", "李晓梅": "桂林", "张伟": "洛阳", "张炜": "大连", "陈静": "泉州", "刘洋": "西安",
           "赵敏": "长沙", "周涛": "青岛"}
ZH_REPORTS = {"张伟": "赵敏", "陈静": "周涛", "刘洋": "王建国", "孙丽": "李晓梅", "黄磊": "陈静", "吴芳": "张伟"}
ZH_JOINED = {"孙丽": "2021年3月", "黄磊": "2023年7月", "吴芳": "2022年10月", "张炜": "2020年5月"}
ZH_STAFF = ["王建国", "李晓梅", "张伟", "张炜", "陈静", "刘洋", "赵敏", "周涛", "孙丽", "黄磊", "吴芳"]


def zh_facts() -> list[Fact]:
    facts: list[Fact] = []
    for p, (lead, sup, client, launch, _item) in ZH_PROJECTS.items():
        facts += [Fact("leads", lead, p), Fact("supplier", p, sup), Fact("client", p, client),
                  Fact("launch", p, launch)]
    facts += [Fact("based_in", o, c) for o, c in ZH_ORGS.items()]
    facts += [Fact("born_in", p, c) for p, c in ZH_BORN.items()]
    facts += [Fact("reports_to", p, m) for p, m in ZH_REPORTS.items()]
    facts += [Fact("joined", p, d) for p, d in ZH_JOINED.items()]
    return facts


ZH_PHRASES = {
    "leads": ["{s}负责{o}。", "{o}现在由{s}牵头。", "{s}是{o}的项目负责人。", "{o}的事情都找{s}，有问题直接问。",
              "从本月起，{s}接手{o}。", "{o}由{s}主抓，进度每周五汇报。"],
    "supplier": ["{s}的供应商是{o}。", "{s}用的{item}都从{o}采购。", "{o}负责给{s}供货，下一批下周到。",
                 "{s}供应商：{o}。", "{s}的{item}合同已经和{o}签了。"],
    "based_in": ["{s}总部在{o}。", "{s}位于{o}。", "{s}是一家{o}的公司，发货一般要三天。", "{s}的工厂和办公室都在{o}。",
                 "{s}在{o}，离我们挺远。"],
    "client": ["{s}的客户是{o}。", "{s}是给{o}做的。", "{o}是{s}的甲方，验收以他们为准。", "{o}委托我们做{s}。"],
    "launch": ["{s}计划于{o}上线。", "{s}的上线日期定在{o}。", "{s}预计{o}交付。", "{s}上线时间：{o}。"],
    "born_in": ["{s}出生在{o}。", "{s}是{o}人。", "{s}老家在{o}，在那里出生长大。", "{s}生于{o}。"],
    "reports_to": ["{s}向{o}汇报。", "{s}的直属领导是{o}。", "{o}是{s}的上级。", "{s}归{o}管。"],
    "joined": ["{s}于{o}入职。", "{s}是{o}加入公司的。", "{s}的入职时间是{o}。"],
}
ZH_FILLERS = {
    "meeting": ["季度考核表下周发，十五号前交。", "客户满意度调查月底截止。", "下周二上午十点消防演练，请大家配合。", "三楼咖啡机又坏了，行政已经报修。", "{P}下周请假三天，工作已交接。",
                "报销单请在每月五号前提交。", "会议室预订系统偶尔失灵，订完请再确认一次。", "{proj}的风险清单需要更新。",
                "年会节目还差两个，欢迎报名。", "下次例会改到周四下午。", "{P}提醒大家填写满意度调查。",
                "打印机双面打印容易卡纸，请用茶水间旁边那台。"],
    "status": ["整体进度正常，无重大风险。", "测试人手紧张，两名测试同事病假。", "本周关闭了四个待办事项，还剩两个。",
               "{org}要求更新下季度的预测数据。", "预算执行情况与计划一致。", "下次项目例会在二十一号下午两点。"],
    "email": ["表格放在共享盘老位置了。", "我周二周三在办公室，有事可以过来找我。", "抱歉回复晚了，这周事情比较多。", "周四方便的话我们电话聊一下。", "附件是上次的会议记录。", "抄送{P}，以免遗漏。",
              "不着急，下周给我就行。", "有问题随时找我。"],
    "hr": ["电脑和工牌已经申请，IT需要两个工作日。", "入职第一个月的导师是{P}。", "必修培训：信息安全、消防安全。",
           "试用期三个月。", "请把新同事拉进部门群。"],
    "purchase": ["送货请到装卸区，不要送前台。", "付款方式：见票后三十天。", "报价有效期到月底。", "超过五千元需要三家比价。"],
    "misc": ["周五中午订披萨还是盖饭？群里投票。", "停车证下月到期，请及时续办。", "周末加班的同事记得登记。",
             "茶水间冰箱每周五下午清空。", "新的自行车棚已经装好了。", "年会定在一月中旬。"],
}
ZH_TITLES = {
    "meeting": ["周会纪要 {date}", "部门例会记录（{date}）", "项目协调会 {date}", "晨会要点 {date}"],
    "status": ["项目周报 第{week}周", "{month}月进度汇总", "月度工作简报（{month}月）"],
    "email": ["回复：发货延迟", "转发：联系人更新", "关于周四会议的问题", "回复：预算数字", "工作交接说明", "回复：上线时间"],
    "hr": ["新同事介绍（{month}月）", "组织架构调整说明 {n}", "入职须知 第{n}版"],
    "purchase": ["采购记录 {month}月", "供应商名单整理 {n}"],
    "misc": ["午饭订餐", "停车证续办通知", "年会筹备想法", "办公室搬迁清单"],
}

ZH_HANDWRITTEN: list[tuple[str, str, list[tuple[str, str, str]]]] = [
    ("宁波出差随记", """王建国 三月出差记录

周二一早坐高铁去宁波，四个小时出头。住在江北宾馆，离码头不远，房间小但很干净，早餐一般。

下午去了华盛物流，他们总部就在宁波，仓库和调度中心在同一个园区，自动分拣线比上次看到的快了不少。晚上和当地的朋友吃了海鲜，价格比上海便宜一半。

周三上午看了两个备选仓库，一个太旧，一个租金太高，都不太合适。回来路上整理了一下想法：
一、仓储面积至少要八千平方米；
二、必须有冷链区域；
三、最好离高速口十公里以内。

发票和车票已经交给财务。""", [("hotel", "王建国", "江北宾馆"), ("based_in", "华盛物流", "宁波")]),
    ("佛山工厂参观记录", """陈静 十月

这次去佛山看五金样品，住在岭南商务酒店，步行十分钟就到工厂。

恒通五金的工厂就在佛山，车间比想象中整洁，门窗合页的抽检合格率在百分之九十八以上。负责接待的是他们的生产经理，人很实在，问什么答什么。

需要跟进的事项：
- 索要材质检测报告；
- 确认春节前能否再供一批货；
- 样品寄回公司给设计部看看。

佛山的早茶名不虚传，下次一定多留半天。""", [("hotel", "陈静", "岭南商务酒店"), ("based_in", "恒通五金", "佛山")]),
    ("成都三日", """李晓梅 出差小记

第一天到成都已经是晚上，住在锦里客栈，是那种老房子改的，院子里有棵很大的银杏树。

第二天去青禾食品看中央厨房，这家公司就在成都，他们的食品安全流程做得很细，每批食材都有留样。下午和对方讨论了配送时间，学校那边要求七点前到。

第三天上午逛了宽窄巷子，下午的航班回来。火锅真的很辣，下次要点鸳鸯锅。""", [("hotel", "李晓梅", "锦里客栈"), ("based_in", "青禾食品", "成都")]),
    ("家里的猫", """赵敏的备忘

团子（家里的橘猫）每天早晚各喂一次，一次一小碗猫粮，水每天换。它会假装没吃过饭，别信。

猫砂两天清一次，猫砂在阳台柜子里。

如果它躲在床底下不出来，不用担心，过一会儿就好了。

我们周日晚上回来，钥匙在楼下邻居家。""", [("cat", "赵敏", "团子")]),
    ("疫苗提醒", """团子的年度疫苗下周三下午三点打，约在安心宠物医院，找李医生。记得带疫苗本（蓝色文件夹）。

顺便问一下：最近掉毛有点多，是不是要换猫粮？体重也要称一下。

上次花了一百八十元。医院周日下午不开门。""", [("vet", "团子", "安心宠物医院")]),
    ("周末红烧肉做法", """周涛记下来的，妈妈的做法

五花肉一斤，切成麻将块，冷水下锅焯一下，捞出洗净。

锅里少放油，小火放冰糖炒出糖色，冰糖一定要用，白糖颜色不对。肉块下锅翻炒上色，加生抽、老抽、料酒，放两片姜、一根葱、一个八角。

加开水没过肉，大火烧开转小火炖一个小时，最后大火收汁。

配米饭，第二天热一热更好吃。""", [("recipe_sugar", "周涛", "冰糖")]),
]


def zh_fact_sentence(doc: Doc, f: Fact) -> str:
    template = doc.rng.choice(ZH_PHRASES[f.rel])
    item = ZH_PROJECTS[f.s][4] if f.s in ZH_PROJECTS else ""
    return template.format(s=f.s, o=f.o, item=item)


def zh_compose(doc: Doc) -> str:
    rng = doc.rng
    target = rng.randint(120, 260)
    pool = doc.kind
    used: set[str] = set()
    header = []
    if doc.kind == "meeting":
        header.append("参会人：" + "、".join(rng.sample(ZH_STAFF, 4)))
    elif doc.kind == "email":
        header.append(rng.choice(["{n}，你好：", "{n}：", "各位好："]).format(n=rng.choice(ZH_STAFF)))
    bodies = []
    for unit in doc.units:
        bodies.append("".join(zh_fact_sentence(doc, f) for f in unit))
    n = 0
    while len("".join(header + bodies)) < target and n < 10:
        choices = [t for t in ZH_FILLERS[pool] if t not in used]
        if not choices:
            break
        t = rng.choice(choices)
        used.add(t)
        bodies.insert(rng.randrange(len(bodies) + 1),
                      t.format(P=rng.choice(ZH_STAFF), proj=rng.choice(sorted(ZH_PROJECTS)), org=rng.choice(sorted(ZH_ORGS))))
        n += 1
    if doc.kind in ("meeting", "purchase", "misc"):
        body = "\n".join(f"{i}. {b}" for i, b in enumerate(bodies, 1))
    else:
        body = "\n\n".join(bodies)
    text = "\n".join(header) + ("\n\n" if header else "") + body
    if doc.kind == "email":
        text += "\n\n谢谢！\n" + rng.choice(ZH_STAFF)
    return text


# --------------------------------------------------------------------------------------------
# Packing facts into documents
# --------------------------------------------------------------------------------------------

PERSON_RELS = {"born_in", "studied", "joined", "speaks", "reports_to"}
ALLOWED = {
    "person": ["newsletter", "hr", "oneonone", "email"],
    "person1": ["newsletter", "hr", "oneonone", "email", "meeting"],
    "leads": ["meeting", "status", "email", "newsletter", "hr"],
    "project": ["status", "meeting", "email"],
    "org": ["email", "purchase", "meeting"],
    "product": ["purchase", "email"],
}
EN_DOC_COUNTS = {"meeting": 17, "status": 12, "email": 17, "hr": 8, "newsletter": 8, "oneonone": 7, "purchase": 7}
EN_NOISE_COUNTS = {"meeting": 6, "email": 8, "status": 3, "facilities": 9, "social": 8}
ZH_DOC_COUNTS = {"meeting": 6, "status": 4, "email": 5, "hr": 3, "purchase": 2}
ZH_NOISE_COUNTS = {"misc": 4}


def split_groups(rng: random.Random, facts: list[Fact], max_size: int) -> list[list[Fact]]:
    facts = facts[:]
    rng.shuffle(facts)
    out: list[list[Fact]] = []
    while facts:
        n = rng.randint(1, max_size)
        out.append(facts[:n])
        facts = facts[n:]
    return out


def make_units(rng: random.Random, facts: list[Fact], handwritten_keys: set[tuple[str, str]]) -> list[tuple[str, list[Fact]]]:
    by_subject: dict[tuple[str, str], list[Fact]] = defaultdict(list)
    units: list[tuple[str, list[Fact]]] = []
    for f in facts:
        if (f.rel, f.s) in handwritten_keys:
            continue
        if f.rel in PERSON_RELS:
            by_subject[("person", f.s)].append(f)
        elif f.rel == "leads":
            units.append(("leads", [f]))
        elif f.rel in ("supplier", "client", "budget", "launch"):
            by_subject[("project", f.s)].append(f)
        elif f.rel in ("based_in", "contact"):
            by_subject[("org", f.s)].append(f)
        else:
            by_subject[("product", f.s)].append(f)
    for (cat, _s), fs in by_subject.items():
        for g in split_groups(rng, fs, 3 if cat == "person" else 2):
            c = "person1" if cat == "person" and len(g) == 1 else cat
            units.append((c, g))
    return units


def title_factory(rng: random.Random, pools: dict[str, list[str]], used: set[str]):
    counters = defaultdict(int)

    def make(kind: str) -> str:
        for _ in range(500):
            t = rng.choice(pools[kind])
            counters[kind] += 1
            day = rng.randint(1, 28)
            month = rng.randint(1, 12)
            title = t.format(date=f"2024-{month:02d}-{day:02d}", week=rng.randint(2, 50), month=MONTHS[month - 1]
                             if pools is TITLE_POOLS else month, n=rng.randint(2, 40), po=rng.randint(4100, 4999))
            if title not in used:
                used.add(title)
                return title
        raise RuntimeError(f"no unique title left for {kind}")

    return make


def pack(rng: random.Random, units: list[tuple[str, list[Fact]]], docs: list[Doc]) -> None:
    rng.shuffle(units)
    # bigger units first so that they find room
    units.sort(key=lambda u: -len(u[1]))
    for cat, unit in units:
        candidates = [d for d in docs if d.kind in ALLOWED[cat] and len(d.units) < 3
                      and not any(u[0].s == unit[0].s for u in d.units)]
        if not candidates:
            candidates = [d for d in docs if d.kind in ALLOWED[cat]]
        least = min(len(d.units) for d in candidates)
        pick = rng.choice([d for d in candidates if len(d.units) == least])
        pick.units.append(unit)


# --------------------------------------------------------------------------------------------
# Questions
# --------------------------------------------------------------------------------------------

@dataclass
class Q:
    question: str
    answers: list[str]
    facts: list[tuple[str, str]]  # (rel, subject) keys of the supporting facts
    type: str


def en_questions(rng: random.Random) -> list[Q]:
    qs: list[Q] = []
    pick = rng.choice
    # one-hop ---------------------------------------------------------------------------------
    for lead_p, (lead, *_rest) in PROJECTS.items():
        if rng.random() < 0.5:
            qs.append(Q(pick(["Who leads the {p} project?", "Who is in charge of {p}?", "Who heads project {p}?",
                              "Who runs the {p} project?"]).format(p=lead_p), [lead], [("leads", lead)], "one-hop"))
        else:
            qs.append(Q(pick(["Which project does {n} lead?", "What project is {n} in charge of?",
                              "Which project is run by {n}?"]).format(n=lead), [lead_p], [("leads", lead)], "one-hop"))
    for p in rng.sample(sorted(PROJECTS), 6):
        qs.append(Q(pick(["Which company supplies the {p} project?", "Who is the supplier for {p}?",
                          "Which vendor provides the {item} for {p}?"]).format(p=p, item=PROJECTS[p][5]),
                    [PROJECTS[p][1]], [("supplier", p)], "one-hop"))
    for o in ["Keller Metals", "Keller Plastics", "Osei Textiles", "Pinecrest Software", "Greystone Clinic",
              "Redline Couriers", "Vantage Print", "Norrland Furniture", "Tillmore Foods"]:
        qs.append(Q(pick(["Where is {o} based?", "In which city is {o} located?", "Which city is {o} in?"]).format(o=o),
                    [ORGS[o][0]], [("based_in", o)], "one-hop"))
    for p in rng.sample(sorted(PROJECTS), 5):
        qs.append(Q(pick(["Who is the client for the {p} project?", "For which customer is {p} being done?",
                          "Who commissioned project {p}?"]).format(p=p), [PROJECTS[p][2]], [("client", p)], "one-hop"))
    for p in rng.sample(sorted(PROJECTS), 4):
        qs.append(Q(pick(["What is the budget of the {p} project?", "How much money is approved for {p}?"]).format(p=p),
                    [PROJECTS[p][3]], [("budget", p)], "one-hop"))
    for p in rng.sample(sorted(PROJECTS), 4):
        qs.append(Q(pick(["When does {p} go live?", "What is the launch date of the {p} project?"]).format(p=p),
                    [PROJECTS[p][4]], [("launch", p)], "one-hop"))
    for o in ["Keller Metals", "Halvorsen Marine", "Tidewell Catering", "Osei Textiles", "Corvid Security"]:
        qs.append(Q(pick(["Who is our contact at {o}?", "Who should I talk to at {o}?",
                          "Who is the account manager at {o}?"]).format(o=o), [ORGS[o][1]], [("contact", o)], "one-hop"))
    for p in ["Zofia Novak", "Priya Raman", "Priya Ramesh", "Tomasz Novak", "Viktor Petrov", "Yusuf Karim"]:
        qs.append(Q(pick(["Who is {n}'s manager?", "Who does {n} report to?"]).format(n=p), [REPORTS_TO[p]],
                    [("reports_to", p)], "one-hop"))
    for p in ["Zofia Novak", "Tomasz Novak", "Priya Raman", "Priya Ramesh", "Omar Haddad", "Grace Mbeki",
              "Felix Romero", "Lena Brandt", "Kwame Asante", "Aiko Tanaka"]:
        qs.append(Q(pick(["Where was {n} born?", "What is {n}'s place of birth?", "In which city was {n} born?"]).format(n=p),
                    [BORN[p]], [("born_in", p)], "one-hop"))
    for p in ["Mateo Silva", "Grace Mbeki", "Mei Lin", "Yusuf Karim"]:
        y, m = JOINED[p]
        qs.append(Q(pick(["When did {n} join the company?", "Since when has {n} worked here?"]).format(n=p),
                    [f"{MONTHS[m - 1]} {y}", str(y)], [("joined", p)], "one-hop"))
    for p in ["Zofia Novak", "Elif Demir", "Daniel Okafor", "Viktor Petrov"]:
        qs.append(Q(pick(["Where did {n} study?", "Which university did {n} attend?"]).format(n=p),
                    [STUDIED[p].removeprefix("the ")], [("studied", p)], "one-hop"))
    for p in ["Rafael Ortega", "Kwame Asante"]:
        qs.append(Q(f"Which languages does {p} speak?", [SPEAKS[p]], [("speaks", p)], "one-hop"))
    for prod in ["Aster standing desk", "Tern 3 router", "Vela 2 espresso machine"]:
        qs.append(Q(pick(["Who makes the {x}?", "Which company manufactures the {x}?"]).format(x=prod),
                    [PRODUCTS[prod][0]], [("made_by", prod)], "one-hop"))
    for prod in ["Nimbus headset", "Lumo desk lamp"]:
        qs.append(Q(f"How much does the {prod} cost?", [PRODUCTS[prod][1]], [("price", prod)], "one-hop"))
    for who, city, hotel in [("Ines Carvalho", "Lisbon", "Casa do Largo"), ("Marcus Hale", "Tallinn", "Hotel Vana Tulli"),
                             ("Hannah Lindqvist", "Bergen", "Bryggen Lodge"), ("Aiko Tanaka", "Antwerp", "Hotel Scheldezicht")]:
        qs.append(Q(f"Which hotel did {who} stay at in {city}?", [hotel], [("hotel", who)], "one-hop"))
    incidents = {
        "checkout outage on 14 May": ("What caused the payment outage on 14 May?", "TLS certificate"),
        "VPN outage in February": ("Why did the VPN go down in February?", "automation script"),
        "warehouse scanner failure": ("What made the warehouse scanners lose their connection?", "firmware update on the Tern 3 routers"),
        "wrong totals in the monthly data export": ("What was behind the wrong totals in the monthly data export?", "timezone conversion bug"),
        "meeting room double bookings": ("What caused meeting rooms to be booked twice?", "race condition in the calendar sync"),
    }
    for key, (question, ans) in incidents.items():
        qs.append(Q(question, [ans], [("cause", key)], "one-hop"))
    for key, question, who in [("email delays on 9 September", "Who fixed the email delays on 9 September?", "Mateo Silva"),
                               ("flooding in the server room", "Who dealt with the flooding in the server room?", "Rosa Delgado"),
                               ("warehouse scanner failure", "Who got the warehouse scanners working again?", "Tomasz Novak")]:
        qs.append(Q(question, [who], [("fixed_by", key)], "one-hop"))
    qs += [
        Q("What is the name of Hannah Lindqvist's dog?", ["Pepper"], [("dog", "Hannah Lindqvist")], "one-hop"),
        Q("What is Sophie Laurent's cat called?", ["Miso"], [("cat", "Sophie Laurent")], "one-hop"),
        Q("Which sausage goes into Ines Carvalho's Sunday soup?", ["chouriço"], [("soup_sausage", "Ines Carvalho")], "one-hop"),
        Q("What does Lena Brandt soak the raisins in for her plum cake?", ["rum"], [("raisin_soak", "Lena Brandt")], "one-hop"),
        Q("Which company did Omar Haddad choose for his kitchen renovation?", ["Hale & Sons Joinery"],
          [("kitchen", "Omar Haddad")], "one-hop"),
        Q("Which garage services Marcus Hale's car?", ["Pennant Motors"], [("garage", "Marcus Hale")], "one-hop"),
        Q("Where is the birthday party for Daniel Okafor's daughter?", ["Riverside Bowling"],
          [("party_venue", "Daniel Okafor")], "one-hop"),
        Q("At which allotment site does Grace Mbeki have a plot?", ["Ferncliffe"], [("allotment", "Grace Mbeki")], "one-hop"),
        Q("How much did Vantage Print invoice in the March payment batch?", ["1,480"], [("invoice", "Vantage Print")], "one-hop"),
        Q("Which company chased us about invoice INV-2024-118?", ["Okto Audio"], [("chasing", "INV-2024-118")], "one-hop"),
    ]
    # two-hop -----------------------------------------------------------------------------------
    two: list[Q] = []
    for p, (lead, sup, client, budget, launch, _item, _d) in PROJECTS.items():
        two.append(Q(pick(["Which company supplies the project that {n} leads?", "Who is the supplier of the project run by {n}?"]).format(n=lead),
                     [sup], [("leads", lead), ("supplier", p)], "two-hop"))
        two.append(Q(pick(["Where is the supplier of the {p} project based?", "In which city is the company that supplies {p}?"]).format(p=p),
                     [ORGS[sup][0]], [("supplier", p), ("based_in", sup)], "two-hop"))
        two.append(Q(pick(["Who is the client of the project headed by {n}?", "For which organisation is {n}'s project being delivered?"]).format(n=lead),
                     [client], [("leads", lead), ("client", p)], "two-hop"))
        two.append(Q(pick(["When does the project led by {n} go live?", "What is the launch date of the project {n} is in charge of?"]).format(n=lead),
                     [launch], [("leads", lead), ("launch", p)], "two-hop"))
        two.append(Q(f"In which city is the client of the {p} project based?", [ORGS[client][0]],
                     [("client", p), ("based_in", client)], "two-hop"))
        two.append(Q(pick(["Who is our contact at the company that supplies {p}?", "Who handles our account at {p}'s supplier?"]).format(p=p),
                     [ORGS[sup][1]], [("supplier", p), ("contact", sup)], "two-hop"))
        two.append(Q(pick(["Who leads the project that {o} supplies?", "Who is in charge of the project {o} delivers to?"]).format(o=sup),
                     [lead], [("supplier", p), ("leads", lead)], "two-hop"))
        two.append(Q(f"What is the budget of the project run by {lead}?", [budget], [("leads", lead), ("budget", p)], "two-hop"))
    for p, m in REPORTS_TO.items():
        if m in BORN:
            two.append(Q(pick(["Where was {n}'s manager born?", "In which city was the person {n} reports to born?"]).format(n=p),
                         [BORN[m]], [("reports_to", p), ("born_in", m)], "two-hop"))
        lead_of = {v[0]: k for k, v in PROJECTS.items()}
        if m in lead_of:
            two.append(Q(pick(["Which project does {n}'s manager lead?", "What project is run by the person {n} reports to?"]).format(n=p),
                         [lead_of[m]], [("reports_to", p), ("leads", m)], "two-hop"))
    for prod, (maker, _price) in PRODUCTS.items():
        two.append(Q(pick(["Where is the maker of the {x} based?", "In which city is the company that makes the {x}?"]).format(x=prod),
                     [ORGS[maker][0]], [("made_by", prod), ("based_in", maker)], "two-hop"))
    fixers = {"checkout outage on 14 May": ("the payment outage on 14 May", "Viktor Petrov"),
              "VPN outage in February": ("the VPN outage in February", "Yusuf Karim"),
              "warehouse scanner failure": ("the warehouse scanner failure", "Tomasz Novak"),
              "email delays on 9 September": ("the email delays on 9 September", "Mateo Silva"),
              "wrong totals in the monthly data export": ("the export totals bug", "Arjun Mehta"),
              "meeting room double bookings": ("the double-booking problem", "Elif Demir")}
    for key, (label, who) in fixers.items():
        two.append(Q(f"Who is the manager of the person who fixed {label}?", [REPORTS_TO[who]],
                     [("fixed_by", key), ("reports_to", who)], "two-hop"))
    two += [
        Q("Which vet practice treats Hannah Lindqvist's dog?", ["Willow Lane Vets"],
          [("dog", "Hannah Lindqvist"), ("vet", "Pepper")], "two-hop"),
        Q("At which clinic does Sophie Laurent's cat have her check-ups?", ["Canal Street Animal Clinic"],
          [("cat", "Sophie Laurent"), ("vet", "Miso")], "two-hop"),
    ]
    # comparison -----------------------------------------------------------------------------------
    comp: list[Q] = []
    for a, b in [("Zofia Novak", "Hannah Lindqvist"), ("Priya Raman", "Priya Ramesh"), ("Felix Romero", "Daniel Okafor"),
                 ("Elif Demir", "Aiko Tanaka"), ("Samuel Whitfield", "Yusuf Karim"), ("Nadia Petrova", "Viktor Petrov")]:
        first = a if JOINED[a] < JOINED[b] else b
        comp.append(Q(pick(["Who joined the company first, {a} or {b}?", "Who has been with the company longer, {a} or {b}?"]).format(a=a, b=b),
                      [first], [("joined", a), ("joined", b)], "comparison"))
    for a, b in [("Harbor", "Juniper"), ("Orchard", "Falcon"), ("Lantern", "Bluebell"), ("Saltmarsh", "Copperleaf")]:
        big = a if BUDGET_VALUE[PROJECTS[a][3]] > BUDGET_VALUE[PROJECTS[b][3]] else b
        comp.append(Q(f"Which project has the bigger budget, {a} or {b}?", [big], [("budget", a), ("budget", b)], "comparison"))
    for a, b in [("Lantern", "Meridian"), ("Kestrel", "Orchard")]:
        def key(p: str) -> tuple[int, int, int]:
            d, mname, y = PROJECTS[p][4].split()
            return int(y), MONTHS.index(mname), int(d)
        early = a if key(a) < key(b) else b
        comp.append(Q(f"Which launches first, {a} or {b}?", [early], [("launch", a), ("launch", b)], "comparison"))
    for a, b in [("Viktor Petrov", "Nadia Petrova"), ("Zofia Novak", "Tomasz Novak"), ("Priya Raman", "Priya Ramesh")]:
        same = "yes" if BORN[a] == BORN[b] else "no"
        comp.append(Q(f"Were {a} and {b} born in the same city?", [same], [("born_in", a), ("born_in", b)], "comparison"))
    return qs + two + comp


def zh_questions(rng: random.Random) -> list[Q]:
    qs: list[Q] = []
    pick = rng.choice
    for p, (lead, sup, client, launch, _item) in ZH_PROJECTS.items():
        qs.append(Q(pick(["{p}由谁负责？", "谁是{p}的负责人？"]).format(p=p), [lead], [("leads", lead)], "zh-one-hop"))
        qs.append(Q(pick(["{p}的供应商是哪家公司？", "哪家公司给{p}供货？"]).format(p=p), [sup], [("supplier", p)], "zh-one-hop"))
        qs.append(Q(pick(["{n}负责的项目的供应商是哪家公司？", "{n}牵头的项目由哪家公司供货？"]).format(n=lead), [sup],
                    [("leads", lead), ("supplier", p)], "zh-two-hop"))
        qs.append(Q(pick(["{p}的供应商在哪个城市？", "给{p}供货的公司位于哪里？"]).format(p=p), [ZH_ORGS[sup]],
                    [("supplier", p), ("based_in", sup)], "zh-two-hop"))
    for p in ["星河项目", "蓝鲸项目", "金桂项目"]:
        qs.append(Q(f"{p}的客户是谁？", [ZH_PROJECTS[p][2]], [("client", p)], "zh-one-hop"))
        qs.append(Q(f"{p}什么时候上线？", [ZH_PROJECTS[p][3]], [("launch", p)], "zh-one-hop"))
    for o in ["华盛物流", "华晟物流", "远航科技", "云帆酒店"]:
        qs.append(Q(f"{o}在哪个城市？", [ZH_ORGS[o]], [("based_in", o)], "zh-one-hop"))
    for n in ["王建国", "张伟", "张炜", "赵敏"]:
        qs.append(Q(f"{n}是哪里人？", [ZH_BORN[n]], [("born_in", n)], "zh-one-hop"))
    for n in ["张伟", "陈静", "吴芳"]:
        qs.append(Q(f"{n}的上级是谁？", [ZH_REPORTS[n]], [("reports_to", n)], "zh-one-hop"))
    for n in ["张伟", "陈静", "刘洋"]:
        m = ZH_REPORTS[n]
        qs.append(Q(f"{n}的上级是哪里人？", [ZH_BORN[m]], [("reports_to", n), ("born_in", m)], "zh-two-hop"))
    qs += [
        Q("王建国在宁波出差时住在哪家酒店？", ["江北宾馆"], [("hotel", "王建国")], "zh-one-hop"),
        Q("赵敏家的猫叫什么名字？", ["团子"], [("cat", "赵敏")], "zh-one-hop"),
        Q("赵敏家的猫在哪家宠物医院打疫苗？", ["安心宠物医院"], [("cat", "赵敏"), ("vet", "团子")], "zh-two-hop"),
        Q("周涛妈妈做红烧肉用什么糖？", ["冰糖"], [("recipe_sugar", "周涛")], "zh-one-hop"),
        Q("孙丽和黄磊谁先入职？", ["孙丽"], [("joined", "孙丽"), ("joined", "黄磊")], "zh-comparison"),
    ]
    return qs


# --------------------------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------------------------

def doc_id(title: str, text: str) -> str:
    h = hashlib.sha256()
    for part in (title, text):
        h.update(part.encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()[:16]


def build_part(rng: random.Random, facts: list[Fact], handwritten, doc_counts, noise_counts, pools,
               compose_fn) -> tuple[list[tuple[str, str]], dict[tuple[str, str], str]]:
    used_titles = {t for t, _x, _f in handwritten}
    make_title = title_factory(rng, pools, used_titles)
    hw_keys = {(rel, s) for _t, _x, fs in handwritten for rel, s, _o in fs}
    units = make_units(rng, facts, hw_keys)
    docs = [Doc(kind, make_title(kind), random.Random(rng.random())) for kind, n in doc_counts.items() for _ in range(n)]
    pack(rng, units, docs)
    noise = [Doc(kind, make_title(kind), random.Random(rng.random())) for kind, n in noise_counts.items() for _ in range(n)]
    where: dict[tuple[str, str], str] = {}
    out: list[tuple[str, str]] = []
    for d in docs + noise:
        d.text = compose_fn(d)
        for u in d.units:
            for f in u:
                assert (f.rel, f.s) not in where, f
                where[(f.rel, f.s)] = d.title
        out.append((d.title, d.text))
    for title, text, fs in handwritten:
        out.append((title, text))
        for rel, s, _o in fs:
            assert (rel, s) not in where, (rel, s)
            where[(rel, s)] = title
    return out, where


def resolve_questions(qs: list[Q], where: dict[tuple[str, str], str], corpus: dict[str, str], prefix: str) -> list[dict]:
    out = []
    seen_q: set[str] = set()
    for q in qs:
        titles = [where[k] for k in q.facts]
        if q.type.endswith(("two-hop", "comparison")) and len(set(titles)) < len(titles):
            continue  # both facts ended up in one document: not a two-document question
        if q.question in seen_q:
            continue
        seen_q.add(q.question)
        gold = list(dict.fromkeys(titles))
        for t in gold:
            assert t in corpus, t
        out.append({"question": q.question, "answers": q.answers, "gold_titles": gold, "gold_complete": True,
                    "type": q.type})
    for i, rec in enumerate(out, 1):
        rec_id = f"{prefix}-{i:03d}"
        out[i - 1] = {"id": rec_id, **rec}
    return out


def main() -> None:
    rng = random.Random(SEED)
    en_docs, en_where = build_part(rng, world_facts(), HANDWRITTEN, EN_DOC_COUNTS, EN_NOISE_COUNTS, TITLE_POOLS, compose)
    zh_docs, zh_where = build_part(rng, zh_facts(), ZH_HANDWRITTEN, ZH_DOC_COUNTS, ZH_NOISE_COUNTS, ZH_TITLES, zh_compose)
    corpus = {t: x for t, x in en_docs + zh_docs}
    assert len(corpus) == len(en_docs) + len(zh_docs), "titles must be unique"

    qrng = random.Random(SEED + 1)
    en_all = en_questions(qrng)
    one = [q for q in en_all if q.type == "one-hop"]
    two = [q for q in en_all if q.type == "two-hop"]
    comp = [q for q in en_all if q.type == "comparison"]
    # keep the two-hop set to a size comparable with the one-hop set, every chain type represented
    qrng.shuffle(two)
    two = two[:45]
    en_q = resolve_questions(one + two + comp, en_where, corpus, "en")
    zh_q = resolve_questions(zh_questions(qrng), zh_where, corpus, "zh")

    with (HERE / "corpus.jsonl").open("w", encoding="utf-8") as fh:
        for title, text in en_docs + zh_docs:
            fh.write(json.dumps({"id": doc_id(title, text), "title": title, "text": text}, ensure_ascii=False) + "\n")
    for name, recs in (("questions.jsonl", en_q + zh_q), ("questions_en.jsonl", en_q), ("questions_zh.jsonl", zh_q)):
        with (HERE / name).open("w", encoding="utf-8") as fh:
            for rec in recs:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    counts = defaultdict(int)
    for rec in en_q + zh_q:
        counts[rec["type"]] += 1
    print(f"documents: {len(en_docs)} English, {len(zh_docs)} Chinese; questions: {len(en_q)} English, "
          f"{len(zh_q)} Chinese; by type: {dict(sorted(counts.items()))}")


if __name__ == "__main__":
    main()
