"""IPS — an open Internet Payment System speaking the IPS Assist protocol."""

__version__ = "0.1.0"
