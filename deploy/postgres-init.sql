-- Each city owns its database; the gateway owns its own (DESIGN §8).
CREATE DATABASE changsha;
CREATE DATABASE zhuzhou;
CREATE DATABASE xiangtan;
CREATE DATABASE gateway;
